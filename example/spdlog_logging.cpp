// The client's log sent to spdlog, and an observer that counts retries. The library takes no
// logging dependency: config::log is a plain function of a level and a line, and the few lines
// below are the whole adapter. Against the embedded emulator, the first calls meet injected 503s,
// so that retries show in the log and in the count.
#include "example.hpp"

#include <codef/observer.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace {

spdlog::level::level_enum spdlog_level(codef::log_level l) {
    switch (l) {
    case codef::log_level::trace:
        return spdlog::level::trace;
    case codef::log_level::debug:
        return spdlog::level::debug;
    case codef::log_level::info:
        return spdlog::level::info;
    case codef::log_level::warning:
        return spdlog::level::warn;
    case codef::log_level::error:
        return spdlog::level::err;
    case codef::log_level::off:
        break;
    }
    return spdlog::level::off;
}

// config::log for a spdlog logger. The client calls it on whichever thread does the work, so the
// logger's sinks must be thread-safe (the _mt ones are).
codef::log_function to_spdlog(std::shared_ptr<spdlog::logger> logger) {
    return [logger = std::move(logger)](codef::log_level level, std::string_view line) {
        logger->log(spdlog_level(level), "{}", line);
    };
}

// Counts retries, and the calls that needed one. Events come from any thread: relaxed atomics
// are enough for counters read at the end.
class retry_counter : public codef::observer {
public:
    void on_retry(const codef::retry_event&) override {
        retries_.fetch_add(1, std::memory_order_relaxed);
    }
    void on_call_finished(const codef::call_finished_event& e) override {
        if (e.retries > 0) retried_calls_.fetch_add(1, std::memory_order_relaxed);
    }
    std::uint64_t retries() const { return retries_.load(std::memory_order_relaxed); }
    std::uint64_t retried_calls() const { return retried_calls_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> retries_{0};
    std::atomic<std::uint64_t> retried_calls_{0};
};

boost::asio::awaitable<void> calls(codef::client& client, std::shared_ptr<retry_counter> counter,
                                   std::shared_ptr<spdlog::logger> logger) {
    // connectedId-list, then the accounts of the first few connectedIds.
    boost::json::object page; // the first page
    codef::response ids = co_await client.request("/v1/account/connectedId-list", page);
    const auto& list = ids.data.at("connectedIdList").as_array();
    for (std::size_t i = 0; i < list.size() && i < 3; ++i) {
        boost::json::object params{{"connectedId", list[i]}};
        codef::response accounts = co_await client.request("/v1/account/list", params);
        logger->info("{}: {} ({} accounts)", list[i].as_string().c_str(), accounts.code,
                     accounts.data.at("accountList").as_array().size());
    }
    logger->info("retries: {}, calls that needed one: {}", counter->retries(),
                 counter->retried_calls());
}

} // namespace

int main(int argc, char** argv) {
    auto logger = spdlog::stdout_color_mt("codef");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e [%^%l%$] %v");
    logger->set_level(spdlog::level::debug);
    auto counter = std::make_shared<retry_counter>();

    codef::emulator_options opts;
    opts.seed_connected_ids = 5;
    return example::run(
        argc, argv, [&](codef::client& c) { return calls(c, counter, logger); }, std::move(opts),
        [&](codef::config& cfg, codef::emulator* emulator) {
            cfg.log = to_spdlog(logger);
            cfg.log_level = codef::log_level::debug; // every call; trace adds connections
            cfg.observer = counter;
            if (emulator) {
                codef::emulator_faults faults;
                faults.fail_next = 2; // the first call is answered 503 twice, then served
                emulator->apply(faults);
            }
        });
}
