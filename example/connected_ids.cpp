// Every connectedId the credentials hold, page after page, one page in memory at a time.
#include "example.hpp"

namespace asio = boost::asio;

static asio::awaitable<void> all_ids(codef::client& client) {
    codef::connected_id_stream ids = client.connected_ids();
    std::size_t count = 0;
    for (;;) {
        auto id = co_await ids.next();
        if (!id) {
            // A failed page can be asked for again: next() retries the same page.
            std::cerr << "stopped: " << codef::error(id.error(), id.diag()).what() << "\n";
            co_return;
        }
        if (!*id) break; // the end
        if (++count <= 3) std::cout << "  " << **id << "\n";
    }
    std::cout << count << " connectedIds in " << ids.pages_read() << " pages\n";
}

int main(int argc, char** argv) {
    codef::emulator_options seeded;
    seeded.seed_connected_ids = 120'000; // three pages of 50,000
    return example::run(argc, argv, all_ids, seeded);
}
