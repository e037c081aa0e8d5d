// Test support: run a coroutine to completion on an io_context, with a guard against hangs.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace codef::test {

namespace detail {
template <class Handler>
void drive(boost::asio::io_context& ioc, std::atomic<bool>& done, std::chrono::seconds limit,
           unsigned threads) {
    ioc.restart();
    std::vector<std::thread> extra;
    for (unsigned i = 1; i < threads; ++i)
        extra.emplace_back([&] { ioc.run_for(limit); });
    ioc.run_for(limit);
    for (auto& t : extra)
        t.join();
    if (!done.load()) {
        ioc.stop();
        BOOST_FAIL("the coroutine did not complete: a hang");
    }
}
} // namespace detail

// Runs aw on ioc (with threads threads) until it completes, and returns its value. limit only
// guards against hangs; it is not a timing claim.
template <class T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> aw,
      std::chrono::seconds limit = std::chrono::seconds(120), unsigned threads = 1) {
    std::optional<T> out;
    std::exception_ptr ex;
    std::atomic<bool> done{false};
    boost::asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, T v) {
        ex = e;
        if (!e) out.emplace(std::move(v));
        done = true;
        ioc.stop();
    });
    detail::drive<void>(ioc, done, limit, threads);
    if (ex) std::rethrow_exception(ex);
    return std::move(*out);
}

inline void run(boost::asio::io_context& ioc, boost::asio::awaitable<void> aw,
                std::chrono::seconds limit = std::chrono::seconds(120), unsigned threads = 1) {
    std::exception_ptr ex;
    std::atomic<bool> done{false};
    boost::asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e) {
        ex = e;
        done = true;
        ioc.stop();
    });
    detail::drive<void>(ioc, done, limit, threads);
    if (ex) std::rethrow_exception(ex);
}

// Tasks spawned on an io_context at once, and what each gave (empty where it threw). They start
// when something runs ioc on the calling thread (run_until, to bring them to a known point, or
// run for another coroutine); run then runs ioc on threads until they have all completed.
template <class T>
class spawned {
public:
    spawned(boost::asio::io_context& ioc, std::vector<boost::asio::awaitable<T>> tasks)
        : ioc_(ioc)
        , results_(tasks.size())
        , left_(tasks.size()) {
        for (std::size_t i = 0; i < tasks.size(); ++i)
            boost::asio::co_spawn(ioc, std::move(tasks[i]), [this, i](std::exception_ptr e, T v) {
                if (!e) results_[i].emplace(std::move(v));
                // Only run's threads are stopped: before it, ioc is someone else's to stop.
                if (left_.fetch_sub(1) == 1 && running_.load()) ioc_.stop();
            });
    }
    spawned(const spawned&) = delete;
    spawned& operator=(const spawned&) = delete;

    bool done() const { return left_.load() == 0; }

    // Runs ioc on threads threads until every task has completed, and returns what each gave.
    // meanwhile runs on the calling thread while they run (to release a held reply, say).
    std::vector<std::optional<T>> run(unsigned threads = 4, std::function<void()> meanwhile = {},
                                      std::chrono::seconds limit = std::chrono::seconds(300)) {
        running_ = true;
        if (left_.load() == 0) return std::move(results_); // all done before (on this thread)
        ioc_.restart();
        std::vector<std::thread> pool;
        for (unsigned i = 0; i < threads; ++i)
            pool.emplace_back([&] { ioc_.run_for(limit); });
        if (meanwhile) meanwhile();
        for (auto& t : pool)
            t.join();
        if (left_.load() != 0) {
            ioc_.stop();
            BOOST_FAIL(left_.load() << " tasks did not complete: a hang");
        }
        return std::move(results_);
    }

private:
    boost::asio::io_context& ioc_;
    std::vector<std::optional<T>> results_;
    std::atomic<std::size_t> left_;
    std::atomic<bool> running_{false};
};

// Runs every task at once on ioc with threads threads, and returns what each gave (empty where
// it threw). meanwhile runs on the calling thread while they run (to release a held reply, say).
template <class T>
std::vector<std::optional<T>> run_all(boost::asio::io_context& ioc,
                                      std::vector<boost::asio::awaitable<T>> tasks,
                                      unsigned threads = 4, std::function<void()> meanwhile = {},
                                      std::chrono::seconds limit = std::chrono::seconds(300)) {
    spawned<T> s(ioc, std::move(tasks));
    return s.run(threads, std::move(meanwhile), limit);
}

namespace detail {
inline void run_until(boost::asio::io_context& ioc, const std::function<bool()>& cond,
                      const std::string& what, bool until_idle, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (ioc.stopped()) ioc.restart();
        // cond first, then a pass that finds nothing ready: cond held, and every task has since
        // come to a wait (I/O, a timer, a queue of its own).
        const bool held = cond();
        const std::size_t ran = ioc.poll();
        if (held && (!until_idle || ran == 0)) return;
        if (std::chrono::steady_clock::now() > until) {
            BOOST_FAIL("timed out after "
                       << limit.count() << " s waiting for " << what
                       << (held ? " (it held, but the tasks never settled)" : ""));
        }
        // Nothing ready: wait a little for I/O, a timer, or another thread's progress.
        if (ran == 0 && ioc.run_one_for(std::chrono::milliseconds(2)) == 0 && ioc.stopped())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}
} // namespace detail

// Runs ioc on the calling thread (no other thread may run it meanwhile) until cond holds, for at
// most limit; on timeout fails the test, naming what it waited for. For conditions that need the
// client to make progress (a request reaching the emulator, say).
inline void run_until(boost::asio::io_context& ioc, const std::function<bool()>& cond,
                      const std::string& what,
                      std::chrono::seconds limit = std::chrono::seconds(60)) {
    detail::run_until(ioc, cond, what, false, limit);
}

// As run_until, and then until nothing on ioc is ready to run: every task has come to a wait of
// its own (I/O, a timer, a queue). With cond "every call has started" and only posted steps
// between a call's start and its queue, every call is then in the queue.
inline void run_until_settled(boost::asio::io_context& ioc, const std::function<bool()>& cond,
                              const std::string& what,
                              std::chrono::seconds limit = std::chrono::seconds(60)) {
    detail::run_until(ioc, cond, what, true, limit);
}

// Polls cond (every few milliseconds) until it holds, for at most limit; false if it never did.
inline bool eventually(const std::function<bool()>& cond,
                       std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

inline boost::json::value read_json_file(const std::string& name) {
    std::ifstream f(std::string(CODEF_TEST_DATA) + "/" + name);
    std::stringstream ss;
    ss << f.rdbuf();
    return boost::json::parse(ss.str());
}

} // namespace codef::test
