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

inline boost::json::value read_json_file(const std::string& name) {
    std::ifstream f(std::string(CODEF_TEST_DATA) + "/" + name);
    std::stringstream ss;
    ss << f.rdbuf();
    return boost::json::parse(ss.str());
}

} // namespace codef::test
