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

// Runs every task at once on ioc with threads threads, and returns what each gave (empty where
// it threw). meanwhile runs on the calling thread while they run (to release a held reply, say).
template <class T>
std::vector<std::optional<T>> run_all(boost::asio::io_context& ioc,
                                      std::vector<boost::asio::awaitable<T>> tasks,
                                      unsigned threads = 4, std::function<void()> meanwhile = {},
                                      std::chrono::seconds limit = std::chrono::seconds(300)) {
    std::vector<std::optional<T>> results(tasks.size());
    std::atomic<std::size_t> left{tasks.size()};
    for (std::size_t i = 0; i < tasks.size(); ++i)
        boost::asio::co_spawn(ioc, std::move(tasks[i]), [&, i](std::exception_ptr e, T v) {
            if (!e) results[i].emplace(std::move(v));
            if (left.fetch_sub(1) == 1) ioc.stop();
        });
    ioc.restart();
    std::vector<std::thread> pool;
    for (unsigned i = 0; i < threads; ++i)
        pool.emplace_back([&] { ioc.run_for(limit); });
    if (meanwhile) meanwhile();
    for (auto& t : pool)
        t.join();
    if (left.load() != 0) {
        ioc.stop();
        BOOST_FAIL(left.load() << " tasks did not complete: a hang");
    }
    return results;
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
