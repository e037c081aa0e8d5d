// Two-way authentication: the product asks for more (CF-03002), the end user answers, the call
// completes. Here the answer comes from a callback that stands for your UI (it reads stdin when
// one is attached, and otherwise answers for the emulator: first wrongly, then rightly).
#include "example.hpp"

#include <unistd.h>

namespace asio = boost::asio;
namespace json = boost::json;

// Your UI: shows the challenge (a captcha image for secureNo, "check your phone" for sms...) and
// returns what the user typed.
using ask_fn = std::function<codef::two_way_answer(const codef::two_way_challenge&, int attempt)>;

static codef::two_way_answer ask_user(const codef::two_way_challenge& c, int attempt) {
    std::cout << "additional authentication: " << c.method << " (" << c.reply.message << ")\n";
    if (c.method == "simpleAuth") return codef::two_way_answer::confirmed();
    if (isatty(STDIN_FILENO)) {
        std::string typed;
        std::cout << "answer> " << std::flush;
        std::getline(std::cin, typed);
        return codef::two_way_answer::code(typed);
    }
    const std::string answer = attempt == 0 ? "111111" : "123456"; // the emulator expects 123456
    std::cout << "answering " << answer << "\n";
    return codef::two_way_answer::code(answer);
}

static asio::awaitable<codef::response> with_two_way(codef::client& client, std::string path,
                                                     json::object params, const ask_fn& ask) {
    codef::product_outcome outcome = (co_await client.try_product(path, params)).value();
    for (int attempt = 0; auto* challenge = std::get_if<codef::two_way_challenge>(&outcome);
         ++attempt) {
        codef::two_way_answer answer = ask(*challenge, attempt);
        outcome = (co_await client.continue_two_way(*challenge, answer)).value();
    }
    co_return std::get<codef::response>(outcome);
}

static asio::awaitable<void> two_way(codef::client& client) {
    json::object params;
    params["id"] = "user1234";
    params["password"] = client.encrypt("insurance-password").value();
    codef::response r = co_await with_two_way(
        client, "/v1/kr/insurance/0001/credit4u/contract-info", params, ask_user);
    std::cout << "result: " << r.code << " " << r.message << "\n";
    if (r.ok())
        for (const auto& c : r.data.at("resContractList").as_array())
            std::cout << "  " << std::string_view(c.at("resCompanyNm").as_string()) << "  "
                      << std::string_view(c.at("resInsuranceName").as_string()) << "  "
                      << std::string_view(c.at("resContractStatus").as_string()) << "\n";
}

int main(int argc, char** argv) {
    return example::run(argc, argv, two_way);
}
