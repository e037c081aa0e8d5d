// Every CODEF flow end to end against the emulator: accounts, connectedId paging, two-way
// authentication, the inquiry helpers.
#include "support.hpp"

#include <codef/client.hpp>
#include <codef/emulator.hpp>
#include <codef/result_codes.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <unordered_set>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace codef;
using namespace std::chrono_literals;

namespace {

account login(const char* business, const char* org, std::string pw, const char* type = "P") {
    account a;
    a.business_type = business;
    a.organization = org;
    a.client_type = type;
    a.id = "user01";
    a.password = password::plaintext(std::move(pw));
    return a;
}

struct fixture {
    explicit fixture(emulator_options o = {})
        : emu(std::move(o)) {}
    emulator emu;
    asio::io_context ioc;
    client c{ioc.get_executor(), emu.client_config()};

    template <class T>
    T run(asio::awaitable<T> aw) {
        return codef::test::run(ioc, std::move(aw));
    }
    std::string registered() {
        auto r = run(c.create_accounts({login(business_type::bank, "0004", "pw-bank"),
                                        login(business_type::card, "0309", "pw-card")}));
        BOOST_TEST_REQUIRE(r.has_value());
        return r->connected_id;
    }
};

emulator_options two_way_options() {
    emulator_options o;
    o.two_way_timeout = 300ms;
    return o;
}
struct two_way_fixture : fixture {
    two_way_fixture()
        : fixture(two_way_options()) {}
    json::object insurance_params() {
        json::object p;
        p["id"] = "user01";
        p["password"] = c.encrypt("insurance-pw").value();
        return p;
    }
    two_way_challenge challenge() {
        auto first =
            run(c.try_product("/v1/kr/insurance/0001/credit4u/contract-info", insurance_params()));
        BOOST_TEST_REQUIRE(first.has_value());
        BOOST_TEST_REQUIRE(std::holds_alternative<two_way_challenge>(*first));
        return std::get<two_way_challenge>(*first);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(accounts_end_to_end)

BOOST_FIXTURE_TEST_CASE(create_add_update_delete_list, fixture) {
    const std::string cid = registered();
    BOOST_TEST(cid.size() == 22u);
    BOOST_TEST(emu.password_matches(cid, "0004", "pw-bank"));

    auto listed = run(c.list_accounts(cid));
    BOOST_TEST_REQUIRE(listed.has_value());
    BOOST_TEST(listed->accounts.size() == 2u);
    BOOST_TEST(listed->accounts[1].organization == "0309");
    BOOST_TEST(listed->accounts[1].business_type == "CD");

    auto added = run(c.add_accounts(cid, {login(business_type::bank, "0088", "pw-shinhan")}));
    BOOST_TEST(added->success_list.size() == 1u);
    BOOST_TEST(added->connected_id == cid);
    BOOST_TEST(run(c.list_accounts(cid))->accounts.size() == 3u);

    // The password change reaches the emulator: it decrypts the new one.
    auto updated = run(c.update_accounts(cid, {login(business_type::bank, "0004", "new-pw")}));
    BOOST_TEST(updated->success_list.size() == 1u);
    BOOST_TEST(emu.password_matches(cid, "0004", "new-pw"));
    BOOST_TEST(!emu.password_matches(cid, "0004", "pw-bank"));

    account_key card_key{"KR", business_type::card, "P", "0309", "1"};
    auto deleted = run(c.delete_accounts(cid, {card_key}));
    BOOST_TEST(deleted->success_list.size() == 1u);
    BOOST_TEST(deleted->success_list[0].organization == "0309");
    BOOST_TEST(run(c.list_accounts(cid))->accounts.size() == 2u);

    // Deleting the rest ends the connectedId: it is unknown afterwards, a business error.
    run(c.delete_accounts(cid, {{"KR", business_type::bank, "P", "0004", "1"},
                                {"KR", business_type::bank, "P", "0088", "1"}}));
    auto gone = run(c.list_accounts(cid));
    BOOST_TEST_REQUIRE(gone.has_value());
    BOOST_TEST(gone->reply.error() == result_code::invalid_parameter);
    BOOST_TEST(gone->accounts.empty());
}

BOOST_FIXTURE_TEST_CASE(a_duplicate_registration_goes_to_the_error_list, fixture) {
    const std::string cid = registered();
    auto again = run(c.add_accounts(cid, {login(business_type::bank, "0004", "other")}));
    BOOST_TEST_REQUIRE(again.has_value());
    BOOST_TEST(again->success_list.empty());
    BOOST_TEST_REQUIRE(again->error_list.size() == 1u);
    BOOST_TEST(again->error_list[0].code == "CF-04004");
    BOOST_TEST(again->error_list[0].organization == "0004");
    BOOST_TEST(again->reply.code == "CF-04000"); // every account failed
    // Another client type at the same organization is another registration.
    auto business = run(c.add_accounts(cid, {login(business_type::bank, "0004", "biz", "B")}));
    BOOST_TEST(business->success_list.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_partly_failing_create_returns_both_lists, fixture) {
    account bad = login(business_type::card, "0301", "");
    bad.password = password::encrypted("bm90IGEgY2lwaGVydGV4dA=="); // does not decrypt
    auto r = run(c.create_accounts({login(business_type::bank, "0020", "good"), bad}));
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->reply.ok());
    BOOST_TEST(r->success_list.size() == 1u);
    BOOST_TEST_REQUIRE(r->error_list.size() == 1u);
    BOOST_TEST(r->error_list[0].organization == "0301");
    BOOST_TEST(r->error_list[0].code == "CF-00007");
    BOOST_TEST(!r->connected_id.empty());
}

BOOST_FIXTURE_TEST_CASE(a_password_without_a_public_key_is_refused_before_sending, fixture) {
    config no_key = emu.client_config();
    no_key.public_key.clear();
    client plain(ioc.get_executor(), no_key);
    auto r = run(plain.create_accounts({login(business_type::bank, "0004", "pw")}));
    BOOST_TEST(r.error() == client_errc::missing_public_key);
    BOOST_TEST(r.diag().detail ==
               "accountList[0].password: a plaintext password needs config.public_key");
    BOOST_TEST(emu.stats().api_requests == 0u);
    BOOST_TEST(emu.stats().token_requests == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {
emulator_options small_pages() {
    emulator_options o;
    o.seed_connected_ids = 10;
    o.page_size = 4;
    return o;
}
emulator_options many_ids() {
    emulator_options o;
    o.seed_connected_ids = 200'000;
    return o;
}
} // namespace

BOOST_AUTO_TEST_SUITE(connected_id_paging)

BOOST_AUTO_TEST_CASE(three_pages_with_a_small_page_size) {
    fixture f(small_pages());
    auto ids = f.c.connected_ids();
    auto body = [&]() -> asio::awaitable<std::vector<std::string>> {
        std::vector<std::string> all;
        for (;;) {
            auto id = co_await ids.next();
            BOOST_TEST_REQUIRE(id.has_value());
            if (!*id) break;
            BOOST_TEST(ids.buffered() <= 4u);
            all.push_back(std::move(**id));
        }
        co_return all;
    };
    auto all = f.run(body());
    BOOST_TEST(all.size() == 10u);
    BOOST_TEST(std::unordered_set<std::string>(all.begin(), all.end()).size() == 10u);
    BOOST_TEST(ids.pages_read() == 3);
    BOOST_TEST(f.emu.stats().requests_by_path.at("/v1/account/connectedId-list") == 3u);
    // The single-page call.
    auto page = f.run(f.c.connected_ids_page(2));
    BOOST_TEST(page->ids.size() == 2u);
    BOOST_TEST(!page->has_next);
}

BOOST_AUTO_TEST_CASE(two_hundred_thousand_ids_one_page_at_a_time) {
    fixture f(many_ids());
    auto ids = f.c.connected_ids();
    std::unordered_set<std::string> seen;
    std::size_t most_held = 0;
    auto body = [&]() -> asio::awaitable<void> {
        for (;;) {
            auto page = co_await ids.next_page();
            BOOST_TEST_REQUIRE(page.has_value());
            if (page->empty()) break;
            most_held = std::max(most_held, page->size());
            for (auto& id : *page)
                seen.insert(std::move(id));
        }
    };
    f.run(body());
    BOOST_TEST(seen.size() == 200'000u);
    BOOST_TEST(ids.pages_read() == 4);
    BOOST_TEST(most_held == 50'000u); // the stream never held more than a page
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(two_way_authentication)

BOOST_FIXTURE_TEST_CASE(the_right_answer_completes_the_call, two_way_fixture) {
    auto ch = challenge();
    BOOST_TEST(ch.method == "secureNo");
    BOOST_TEST(!ch.jti.empty());
    BOOST_TEST(ch.extra_info.at("reqSecureNo").as_string().starts_with("data:img/jpeg;base64,"));
    auto done = run(c.continue_two_way(ch, two_way_answer::code("123456")));
    BOOST_TEST_REQUIRE(done.has_value());
    BOOST_TEST_REQUIRE(std::holds_alternative<response>(*done));
    const auto& r = std::get<response>(*done);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.data.at("resContractList").as_array().size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_wrong_answer_repeats_the_challenge, two_way_fixture) {
    auto ch = challenge();
    auto again = run(c.continue_two_way(ch, two_way_answer::code("000000")));
    BOOST_TEST_REQUIRE(std::holds_alternative<two_way_challenge>(*again));
    auto ch2 = std::get<two_way_challenge>(*again);
    BOOST_TEST(ch2.jti == ch.jti);
    // CODEF's words for every challenge, a repeated one too.
    BOOST_TEST(ch2.reply.code == "CF-03002");
    BOOST_TEST(ch2.reply.message == "성공");
    // A new captcha, then the right answer with the newest challenge's twoWayInfo.
    auto fresh = run(c.continue_two_way(ch2, two_way_answer::new_captcha()));
    auto ch3 = std::get<two_way_challenge>(*fresh);
    auto done = run(c.continue_two_way(ch3, two_way_answer::code("123456")));
    BOOST_TEST(std::get<response>(*done).ok());
}

BOOST_FIXTURE_TEST_CASE(too_many_wrong_answers_end_the_job, two_way_fixture) {
    auto ch = challenge();
    product_outcome last = ch;
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST_REQUIRE(std::holds_alternative<two_way_challenge>(last));
        last =
            run(c.continue_two_way(std::get<two_way_challenge>(last), two_way_answer::code("bad")))
                .value();
    }
    BOOST_TEST_REQUIRE(std::holds_alternative<response>(last));
    BOOST_TEST(std::get<response>(last).error() == result_code::two_way_retries_exceeded);
}

BOOST_FIXTURE_TEST_CASE(a_pending_challenge_expires, two_way_fixture) {
    auto ch = challenge();
    // The emulator started the job before its reply left; the job has expired once its steady
    // clock (this process's) is past the reply's arrival plus two_way_timeout. Time passing is
    // the condition itself: this waits exactly for it, no margin guessed.
    const auto expired_by = std::chrono::steady_clock::now() + two_way_options().two_way_timeout;
    std::this_thread::sleep_until(expired_by + 1ms);
    auto late = run(c.continue_two_way(ch, two_way_answer::code("123456")));
    const auto& r = std::get<response>(*late);
    BOOST_TEST(r.code == "CF-00007");
    BOOST_TEST(r.extra_message == "twoWayInfo: the two-way job expired");
}

BOOST_FIXTURE_TEST_CASE(the_client_side_guards_refuse_before_sending, two_way_fixture) {
    json::object plain = insurance_params();
    plain["is2Way"] = true;
    auto r1 = run(c.try_product("/v1/kr/insurance/0001/credit4u/contract-info", plain));
    BOOST_TEST(r1.error() == client_errc::two_way_in_plain_call);
    auto r2 = run(c.try_request("/v1/kr/insurance/0001/credit4u/contract-info", plain));
    BOOST_TEST(r2.error() == client_errc::two_way_in_plain_call);

    json::object follow_up = insurance_params();
    follow_up["is2Way"] = true;
    follow_up["secureNo"] = "123456";
    follow_up["twoWayInfo"] =
        json::object{{"jobIndex", 0}, {"threadIndex", 0}, {"twoWayTimestamp", 1}};
    auto r3 = run(c.continue_two_way("/v1/kr/insurance/0001/credit4u/contract-info", follow_up));
    BOOST_TEST(r3.error() == client_errc::two_way_incomplete);
    BOOST_TEST(r3.diag().detail == "twoWayInfo.jti: missing");
    BOOST_TEST(emu.stats().api_requests == 0u);

    // The same follow-up built by hand from a real challenge goes through.
    auto ch = challenge();
    follow_up["twoWayInfo"] = json::object{{"jobIndex", ch.job_index},
                                           {"threadIndex", ch.thread_index},
                                           {"jti", ch.jti},
                                           {"twoWayTimestamp", ch.two_way_timestamp}};
    auto r4 = run(c.continue_two_way("/v1/kr/insurance/0001/credit4u/contract-info", follow_up));
    BOOST_TEST(std::get<response>(r4.value()).ok());
}

BOOST_FIXTURE_TEST_CASE(a_challenge_kept_as_json_is_answered_by_another_client, two_way_fixture) {
    // A web backend: one request gets the challenge and keeps it (a session, a database) ...
    const std::string kept = json::serialize(challenge().to_json());
    BOOST_TEST(kept.find("insurance-pw") == std::string::npos);
    // ... another, in another process with a client of its own, answers it.
    asio::io_context other_ioc;
    client other(other_ioc.get_executor(), emu.client_config());
    auto restored = two_way_challenge::from_json(json::parse(kept));
    BOOST_TEST_REQUIRE(restored.has_value());
    auto done = codef::test::run(
        other_ioc, other.continue_two_way(std::move(*restored), two_way_answer::code("123456")));
    BOOST_TEST_REQUIRE(done.has_value());
    BOOST_TEST_REQUIRE(std::holds_alternative<response>(*done));
    BOOST_TEST(std::get<response>(*done).ok());
    BOOST_TEST(std::get<response>(*done).data.at("resContractList").as_array().size() == 2u);
    BOOST_TEST(other.stats().calls == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

constexpr const char* checkup = "/v1/kr/public/pp/nhis-health-checkup/result";

json::object checkup_params(const char* year) {
    return json::object{{"organization", "0002"},   {"loginType", "5"},
                        {"loginTypeLevel", "1"},    {"userName", "홍길동"},
                        {"phoneNo", "01012345678"}, {"identity", "19800101"},
                        {"searchStartYear", year},  {"searchEndYear", year}};
}

struct multiple_fixture : fixture {
    // Runs ioc (the requests in flight with it) until the emulator holds n requests waiting
    // for the shared authentication.
    void until_waiting(std::uint64_t n) {
        run([&]() -> asio::awaitable<void> {
            asio::steady_timer t(co_await asio::this_coro::executor);
            while (emu.stats().two_way_waits < n) {
                t.expires_after(10ms);
                co_await t.async_wait(asio::use_awaitable);
            }
        }());
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(multiple_requests)

BOOST_FIXTURE_TEST_CASE(three_requests_share_one_simple_authentication, multiple_fixture) {
    auto m = run(c.multiple_products(
        checkup, {checkup_params("2019"), checkup_params("2020"), checkup_params("2021")}));
    BOOST_TEST_REQUIRE(m.has_value(), m.diag().detail);
    // No id given: a random UUID (version 4), carried by every request.
    const std::string id = m->id();
    BOOST_TEST(id.size() == 36u);
    BOOST_TEST(id[14] == '4');
    BOOST_TEST(std::string("89ab").find(id[19]) != std::string::npos);
    BOOST_TEST(m->size() == 3u);
    BOOST_TEST_REQUIRE(m->challenge() != nullptr);
    BOOST_TEST(m->challenged() == 0u);
    BOOST_TEST(m->challenge()->method == "simpleAuth");
    BOOST_TEST(m->challenge()->params.at("id").as_string() == id);
    BOOST_TEST(m->results()[1].error() == client_errc::two_way_incomplete);
    // The other two reach the server and wait for the end user.
    until_waiting(2);
    BOOST_TEST(emu.stats().requests_by_path.at(checkup) == 3u);
    auto done = run(c.continue_two_way(std::move(*m), two_way_answer::confirmed()));
    BOOST_TEST_REQUIRE(done.has_value(), done.diag().detail);
    BOOST_TEST(done->challenge() == nullptr);
    BOOST_TEST_REQUIRE(done->results().size() == 3u);
    const char* years[] = {"2019", "2020", "2021"};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& r = done->results()[i];
        BOOST_TEST_REQUIRE(r.has_value(), r.diag().detail);
        BOOST_TEST(r->ok());
        // Each request's own answer.
        const auto& list = r->data.at("resPreviewList").as_array();
        BOOST_TEST_REQUIRE(list.size() == 1u);
        BOOST_TEST(list[0].at("resCheckupYear").as_string() == years[i]);
    }
    // One challenge, one follow-up: four requests, no second authentication.
    BOOST_TEST(emu.stats().requests_by_path.at(checkup) == 4u);
    BOOST_TEST(c.stats().calls == 4u);
    BOOST_TEST(emu.stats().token_requests == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_failed_authentication_ends_every_request, multiple_fixture) {
    multiple_options mo;
    mo.stagger = 500ms;
    json::object p;
    p["id"] = "user01"; // the shared id, taken from the first request
    p["password"] = c.encrypt("insurance-pw").value();
    const std::string insurance = "/v1/kr/insurance/0001/credit4u/contract-info";
    auto m = run(c.multiple_products(insurance, {p, p}, mo));
    BOOST_TEST_REQUIRE(m.has_value(), m.diag().detail);
    BOOST_TEST(m->id() == "user01");
    BOOST_TEST_REQUIRE(m->challenge() != nullptr);
    BOOST_TEST(m->challenge()->method == "secureNo");
    until_waiting(1);
    // A wrong code three times: CODEF gives up (CF-12872), for both.
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST_REQUIRE(m->challenge() != nullptr);
        BOOST_TEST(m->challenged() == 0u);
        auto next = run(c.continue_two_way(std::move(*m), two_way_answer::code("000000")));
        BOOST_TEST_REQUIRE(next.has_value(), next.diag().detail);
        *m = std::move(*next);
    }
    BOOST_TEST(m->challenge() == nullptr);
    for (const auto& r : m->results()) {
        BOOST_TEST_REQUIRE(r.has_value());
        BOOST_TEST(r->code == "CF-12872");
    }
    // Nothing left to answer.
    auto again = run(c.continue_two_way(std::move(*m), two_way_answer::confirmed()));
    BOOST_TEST(again.error() == client_errc::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(bad_multiple_requests_are_refused_before_sending, fixture) {
    const auto refused = [&](std::vector<json::object> params, multiple_options mo = {}) {
        auto r = run(c.multiple_products(checkup, std::move(params), mo));
        BOOST_TEST(r.error() == client_errc::invalid_argument);
        return r.has_value() ? std::string() : r.diag().detail;
    };
    BOOST_TEST(refused({}) == "params: no requests");
    json::object other = checkup_params("2020");
    other["id"] = "someone-else";
    json::object first = checkup_params("2019");
    first["id"] = "customer-1";
    BOOST_TEST(refused({first, other}) == "params[1].id: differs from the shared id");
    json::object follow_up = checkup_params("2020");
    follow_up["is2Way"] = true;
    BOOST_TEST(refused({checkup_params("2019"), follow_up}).starts_with("params[1].is2Way: "));
    multiple_options slow;
    slow.stagger = 11s;
    BOOST_TEST(refused({first}, slow) == "multiple_options::stagger: must be 0 to 10 s");
    auto bad_path = run(c.multiple_products("no-slash", {first}));
    BOOST_TEST(bad_path.diag().detail == "path: must start with '/'");
    // Each waiting request holds a connection, and the follow-up needs one more.
    config small = emu.client_config();
    small.max_connections = 2;
    client two(ioc.get_executor(), small);
    auto too_many =
        run(two.multiple_products(checkup, {checkup_params("2019"), checkup_params("2020")}));
    BOOST_TEST(too_many.diag().detail ==
               "params: 2 requests; at most config::max_connections - 1 (1): the follow-up needs a "
               "connection of its own");
    BOOST_TEST(emu.stats().api_requests == 0u);
    BOOST_TEST(emu.stats().token_requests == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(inquiries)

BOOST_FIXTURE_TEST_CASE(bank_and_card_helpers, fixture) {
    const std::string cid = registered();
    auto accounts = run(c.bank_accounts({cid, "0004"}));
    BOOST_TEST_REQUIRE(accounts.has_value());
    BOOST_TEST(accounts->reply.ok());
    BOOST_TEST_REQUIRE(!accounts->deposits.empty());
    BOOST_TEST(accounts->deposits[0].currency == "KRW");

    bank_transaction_query q;
    q.connected_id = cid;
    q.organization = "0004";
    q.account = accounts->deposits[0].account;
    q.start_date = "20190601";
    q.end_date = "20190630";
    q.account_password = password::plaintext("1234");
    auto tx = run(c.bank_transactions(q));
    BOOST_TEST_REQUIRE(tx.has_value());
    BOOST_TEST(tx->reply.ok());
    BOOST_TEST(tx->account == q.account);
    BOOST_TEST(tx->history.size() >= 5u);
    BOOST_TEST(tx->history.front().date >= tx->history.back().date); // orderBy 0: newest first

    auto cards = run(c.cards({cid, "0309"}));
    BOOST_TEST(!cards->cards.empty());
    BOOST_TEST(cards->reply.data.is_array());
    card_approval_query aq;
    aq.connected_id = cid;
    aq.organization = "0309";
    aq.start_date = "20190601";
    aq.end_date = "20190630";
    auto approvals = run(c.card_approvals(aq));
    BOOST_TEST(approvals->approvals.size() >= 3u);
    BOOST_TEST(!approvals->approvals[0].store.empty());
}

BOOST_FIXTURE_TEST_CASE(required_parameters_and_unregistered_organizations, fixture) {
    const std::string cid = registered();
    json::object params{{"connectedId", cid}, {"organization", "0004"}};
    auto missing = run(c.try_product("/v1/kr/bank/p/account/transaction-list", params));
    const auto& r = std::get<response>(missing.value());
    BOOST_TEST(r.error() == result_code::missing_parameter);
    BOOST_TEST(r.extra_message == "account");
    auto unregistered = run(c.cards({cid, "0301"}));
    BOOST_TEST(unregistered->reply.code == "CF-00007");
    BOOST_TEST(unregistered->cards.empty());
}

BOOST_AUTO_TEST_SUITE_END()
