// Test support: run a program as a child process, with its output captured and every wait bounded.
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace codef::test {

struct process_result {
    int status = -1; // the exit status, or 128 + signal
    std::string out, err;
};

// Starts args[0] with args, this process's environment plus env, and the file actions fa:
// its pid (the test fails when it cannot start).
inline pid_t spawn_child(const std::vector<std::string>& args, const std::vector<std::string>& env,
                         const posix_spawn_file_actions_t& fa) {
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e)
        envs.emplace_back(*e);
    envs.insert(envs.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : envs)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
    BOOST_TEST_REQUIRE(rc == 0, "cannot start " << args[0]);
    return pid;
}

// A child whose stdout and stderr go to files in dir. Killed by its PID when it outlives the
// test's patience.
class child {
public:
    child(const std::vector<std::string>& args, const std::string& dir,
          const std::string& input = {}, const std::vector<std::string>& env = {}) {
        out_ = dir + "/stdout." + std::to_string(counter()++);
        err_ = out_ + ".err";
        const std::string in = out_ + ".in";
        std::ofstream(in) << input;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        pid_ = spawn_child(args, env, fa);
        posix_spawn_file_actions_destroy(&fa);
    }
    ~child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    pid_t pid() const noexcept { return pid_; }
    void signal(int sig) { ::kill(pid_, sig); }

    // Waits for the exit, at most limit; a child still running then is killed and fails the test.
    process_result wait(std::chrono::seconds limit = std::chrono::seconds(120)) {
        process_result r;
        const auto until = std::chrono::steady_clock::now() + limit;
        int status = 0;
        for (;;) {
            const pid_t done = ::waitpid(pid_, &status, WNOHANG);
            if (done == pid_) break;
            if (std::chrono::steady_clock::now() > until) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                pid_ = -1;
                BOOST_FAIL("the child did not exit in time: a hang");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        pid_ = -1;
        r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        r.out = read(out_);
        r.err = read(err_);
        return r;
    }

private:
    static std::string read(const std::string& path) {
        std::ifstream f(path);
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
    pid_t pid_ = -1;
    std::string out_, err_;
};

inline process_result run_process(const std::vector<std::string>& args, const std::string& dir,
                                  const std::string& input = {},
                                  const std::vector<std::string>& env = {}) {
    child c(args, dir, input, env);
    return c.wait();
}

// A fresh directory under /tmp, removed with its files at the end of the scope.
class temp_dir {
public:
    temp_dir() {
        char tmpl[] = "/tmp/codef-test-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

} // namespace codef::test
