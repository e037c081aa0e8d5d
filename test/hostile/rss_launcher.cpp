// rss_launcher RSS_FILE PROGRAM [ARGS...]: runs PROGRAM as its child, passes SIGINT and SIGTERM on
// to it, writes its peak resident set (wait4's ru_maxrss, KiB) to RSS_FILE, and exits as it did.
//
// Why a launcher: Linux counts in a child's ru_maxrss the memory of the process that started it
// (until exec the child runs in that memory). Started from a test process that holds hundreds of
// MiB (a sanitizer's quarantine, a 24 MB reply it serves), the CLI would seem to hold as much.
// This launcher is small: what it measures is the program's own.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {
volatile sig_atomic_t target = 0;

void forward(int sig) {
    if (target > 0) ::kill(target, sig);
}
} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: rss_launcher RSS_FILE PROGRAM [ARGS...]\n");
        return 127;
    }
    // Signals wait (blocked) until the child is known, then go to it.
    sigset_t both, old;
    sigemptyset(&both);
    sigaddset(&both, SIGINT);
    sigaddset(&both, SIGTERM);
    sigprocmask(SIG_BLOCK, &both, &old);
    struct sigaction sa {};
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child < 0) return 127;
    if (child == 0) {
        // Killed with the launcher (a test that gave up on it), never orphaned.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGINT, &dfl, nullptr);
        sigaction(SIGTERM, &dfl, nullptr);
        sigprocmask(SIG_SETMASK, &old, nullptr);
        ::execv(argv[2], argv + 2);
        ::_exit(127);
    }
    target = child;
    sigprocmask(SIG_SETMASK, &old, nullptr);

    int status = 0;
    struct rusage usage {};
    while (::wait4(child, &status, 0, &usage) < 0)
        if (errno != EINTR) return 127;
    if (FILE* f = std::fopen(argv[1], "w")) {
        std::fprintf(f, "%ld\n", usage.ru_maxrss);
        std::fclose(f);
    }
    if (WIFSIGNALED(status)) {
        std::signal(WTERMSIG(status), SIG_DFL);
        ::raise(WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}
