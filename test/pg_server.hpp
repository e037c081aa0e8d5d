// Test support: a throwaway PostgreSQL 15 server, reachable only on a Unix socket in its own
// temporary directory, stopped and removed at the end of the scope.
#pragma once

#include "process.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <pwd.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <unistd.h>

namespace codef::test {

// A PostgreSQL server of its own for one test: initdb into a fresh directory under /tmp, then
// pg_ctl start. It listens on a Unix socket in that directory and on no TCP address at all;
// the superuser is codef, and trust authentication lets it in without a password. PostgreSQL
// refuses to run as root, so as root the directory belongs to the postgres user (which the
// Debian package creates) and initdb and pg_ctl run as that user through runuser.
class pg_server {
public:
    static constexpr const char* bin_dir = "/usr/lib/postgresql/15/bin";

    // Creates the directory and the cluster and starts the server: the test fails when
    // PostgreSQL 15 is not installed or the server does not start.
    pg_server() {
        for (const char* name : {"initdb", "pg_ctl", "postgres", "psql"}) {
            const std::string path = tool(name);
            BOOST_TEST_REQUIRE(::access(path.c_str(), X_OK) == 0,
                               "PostgreSQL 15 is not installed: no " << path << " (the Debian "
                                                                     << "package postgresql-15)");
        }
        char tmpl[] = "/tmp/codef-pg-XXXXXX";
        BOOST_TEST_REQUIRE(::mkdtemp(tmpl) != nullptr, "cannot create a directory under /tmp");
        dir_ = tmpl;
        try {
            if (::geteuid() == 0) {
                const passwd* pw = ::getpwnam("postgres");
                BOOST_TEST_REQUIRE(pw != nullptr, "PostgreSQL refuses to run as root and there is "
                                                  "no postgres user to run it as (the Debian "
                                                  "package postgresql-15 creates one)");
                BOOST_TEST_REQUIRE(::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) == 0,
                                   "cannot give " << dir_ << " to the postgres user");
                for (const char* path : {"/usr/sbin/runuser", "/sbin/runuser"})
                    if (runuser_.empty() && ::access(path, X_OK) == 0) runuser_ = path;
                BOOST_TEST_REQUIRE(!runuser_.empty(),
                                   "running PostgreSQL as root needs runuser (util-linux)");
            }
            const auto r = run(as_owner({tool("initdb"), "-D", data(), "-U", "codef", "-A", "trust",
                                         "--no-sync", "-E", "UTF8", "--locale=C"}));
            BOOST_TEST_REQUIRE(r.status == 0,
                               "initdb failed (" << r.status << "): " << r.out << r.err);
            start();
        } catch (...) {
            shut_down();
            remove();
            throw;
        }
    }

    // Stops the server by its PID (SIGINT, a fast shutdown; SIGKILL when it is still running
    // after 30 seconds) and removes the directory. Never throws.
    ~pg_server() {
        shut_down();
        remove();
    }

    pg_server(const pg_server&) = delete;
    pg_server& operator=(const pg_server&) = delete;

    // The directory holding the cluster (data), the server's log (log) and its socket.
    std::string dir() const { return dir_; }

    // A libpq connection URI for the postgres database as codef, through the socket in dir().
    std::string uri() const { return "postgresql://codef@/postgres?host=" + dir_; }

    // The postmaster's PID, from the first line of data/postmaster.pid: -1 when the server is
    // not running. The postmaster is not this process's child (pg_ctl forks it).
    pid_t pid() const {
        std::ifstream f(data() + "/postmaster.pid");
        long pid = -1;
        if (!(f >> pid) || pid <= 0) return -1;
        return static_cast<pid_t>(pid);
    }

    // Starts the server and waits, at most 30 seconds, until it accepts connections.
    void start() {
        const auto r = run(as_owner({tool("pg_ctl"), "start", "-w", "-t", "30", "-D", data(), "-l",
                                     dir_ + "/log", "-o", options()}));
        BOOST_TEST_REQUIRE(r.status == 0, "pg_ctl start failed (" << r.status << "): " << r.out
                                                                  << r.err << "\nserver log:\n"
                                                                  << log());
    }

    // Stops the server with a fast shutdown (connections closed, transactions rolled back) and
    // waits, at most 30 seconds, until it is down.
    void stop() {
        const auto r =
            run(as_owner({tool("pg_ctl"), "stop", "-w", "-t", "30", "-m", "fast", "-D", data()}));
        BOOST_TEST_REQUIRE(r.status == 0, "pg_ctl stop failed (" << r.status << "): " << r.out
                                                                 << r.err << "\nserver log:\n"
                                                                 << log());
    }

    // Stops (fast) and starts the server again, each wait at most 30 seconds. Its data stay.
    void restart() {
        const auto r = run(as_owner({tool("pg_ctl"), "restart", "-w", "-t", "30", "-m", "fast",
                                     "-D", data(), "-o", options()}));
        BOOST_TEST_REQUIRE(r.status == 0, "pg_ctl restart failed (" << r.status << "): " << r.out
                                                                    << r.err << "\nserver log:\n"
                                                                    << log());
    }

    // Runs sql with psql, stopping at the first error: the test fails when it does not succeed.
    void psql(const std::string& sql) const { run_psql({"-c", sql}); }

    // Runs sql with psql and returns its unaligned, tuples-only output (-At), trimmed.
    std::string query(const std::string& sql) const {
        std::string out = run_psql({"-At", "-c", sql});
        const auto first = out.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) return {};
        const auto last = out.find_last_not_of(" \t\r\n");
        return out.substr(first, last - first + 1);
    }

    // The server's log so far.
    std::string log() const {
        std::ifstream f(dir_ + "/log");
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }

private:
    static std::string tool(const char* name) { return std::string(bin_dir) + "/" + name; }

    std::string data() const { return dir_ + "/data"; }

    // The server's options: its socket in dir() and no TCP address; durability off, as nothing
    // here outlives the test.
    std::string options() const {
        return "-k " + dir_ +
               " -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
               " -c full_page_writes=off -c max_connections=200";
    }

    // args, run as the postgres user when this process is root.
    std::vector<std::string> as_owner(std::vector<std::string> args) const {
        if (runuser_.empty()) return args;
        args.insert(args.begin(), {runuser_, "-u", "postgres", "--"});
        return args;
    }

    // Runs args with its output captured in files in dir(), every wait bounded.
    process_result run(const std::vector<std::string>& args) const {
        return run_process(args, dir_);
    }

    std::string run_psql(const std::vector<std::string>& extra) const {
        std::vector<std::string> args{tool("psql"),      "-X", "-q", "-v",
                                      "ON_ERROR_STOP=1", "-d", uri()};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto r = run(args);
        BOOST_TEST_REQUIRE(r.status == 0, "psql failed (" << r.status << "): " << r.err);
        return r.out;
    }

    // /proc/PID/stat of a process: its state and its parent, when the file can be read.
    struct proc_stat {
        bool known = false;
        std::string comm;
        char state = '?';
        pid_t ppid = -1;
    };
    static proc_stat stat_of(pid_t pid) {
        proc_stat s;
        std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(f, line)) return s;
        const auto open = line.find('(');
        const auto close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close < open) return s;
        std::istringstream rest(line.substr(close + 1));
        long ppid = -1;
        if (!(rest >> s.state >> ppid)) return s;
        s.known = true;
        s.comm = line.substr(open + 1, close - open - 1);
        s.ppid = static_cast<pid_t>(ppid);
        return s;
    }

    // Whether pid is a live PostgreSQL process. A zombie counts as gone: the postmaster is not
    // our child, and the init process reaps it when it sees fit. A PID that has since gone to
    // another program counts as gone too.
    static bool running(pid_t pid) {
        if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
        std::error_code ec;
        if (!std::filesystem::exists("/proc/self/stat", ec)) return true;
        const proc_stat s = stat_of(pid);
        return s.known && s.comm == "postgres" && s.state != 'Z' && s.state != 'X';
    }

    // The processes whose parent is pid (the postmaster's checkpointer, backends and so on).
    static std::vector<pid_t> children_of(pid_t pid) {
        std::vector<pid_t> found;
        std::error_code ec;
        for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
             it.increment(ec)) {
            const std::string name = it->path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            const pid_t p = static_cast<pid_t>(std::atol(name.c_str()));
            if (stat_of(p).ppid == pid) found.push_back(p);
        }
        return found;
    }

    // The POSIX shared memory files (dynamic shared memory) that the processes pids have mapped.
    static std::vector<std::string> shm_files_of(const std::vector<pid_t>& pids) {
        std::vector<std::string> found;
        for (const pid_t p : pids) {
            std::ifstream maps("/proc/" + std::to_string(p) + "/maps");
            std::string line;
            while (std::getline(maps, line)) {
                const auto at = line.find("/dev/shm/PostgreSQL.");
                if (at == std::string::npos) continue;
                const std::string path = line.substr(at);
                if (std::find(found.begin(), found.end(), path) == found.end())
                    found.push_back(path);
            }
        }
        return found;
    }

    // Waits until pid is gone, at most limit, polling every 20 ms: whether it is gone.
    static bool wait_gone(pid_t pid, std::chrono::milliseconds limit) {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (running(pid)) {
            if (std::chrono::steady_clock::now() > until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return true;
    }

    // Stops a running server by its PID: SIGINT (a fast shutdown), then after 30 seconds
    // SIGKILL to it and its children, and the removal of the shared memory that a killed server
    // leaves behind (its System V segment and its files in /dev/shm). Never throws.
    void shut_down() noexcept {
        try {
            if (dir_.empty()) return;
            const pid_t pid = this->pid();
            if (pid <= 0 || !running(pid)) return;
            ::kill(pid, SIGINT);
            if (wait_gone(pid, std::chrono::seconds(30))) return;
            // Line 7 of postmaster.pid is the segment's key and ID.
            std::ifstream f(data() + "/postmaster.pid");
            std::string line;
            int lines = 0;
            while (lines < 7 && std::getline(f, line))
                ++lines;
            long key = 0, shmid = -1;
            if (lines == 7) std::istringstream(line) >> key >> shmid;
            auto family = children_of(pid);
            family.push_back(pid);
            const auto files = shm_files_of(family);
            for (const pid_t p : family)
                if (running(p)) ::kill(p, SIGKILL);
            for (const pid_t p : family)
                wait_gone(p, std::chrono::seconds(5));
            if (shmid >= 0) ::shmctl(static_cast<int>(shmid), IPC_RMID, nullptr);
            for (const auto& file : files)
                ::unlink(file.c_str());
        } catch (...) {
        }
    }

    void remove() noexcept {
        if (dir_.empty()) return;
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    std::string dir_;
    std::string runuser_; // runuser's path when this process is root, empty otherwise
};

} // namespace codef::test
