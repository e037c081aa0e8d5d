// The sweep's progress line fits the terminal: never as wide as it, the bar shrinking first.
#include "cli/progress.hpp"

#include <boost/test/unit_test.hpp>

using codef::cli::progress_line;

namespace {

codef::sweep_progress halfway() {
    codef::sweep_progress p;
    p.ids_done = 500'000;
    p.ids_total = 1'000'000;
    p.rate = 23'186;
    p.eta = std::chrono::seconds(21);
    p.failed = 3;
    return p;
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_progress)

BOOST_AUTO_TEST_CASE(a_wide_terminal_gets_the_whole_bar) {
    const auto line = progress_line(halfway(), 200);
    BOOST_TEST(line == "[###############---------------] 500,000/1,000,000 50%  23,186/s  ETA 0m21s"
                       "  failed 3");
}

BOOST_AUTO_TEST_CASE(the_line_is_never_as_wide_as_the_terminal) {
    for (std::size_t width : {200u, 100u, 80u, 60u, 50u, 40u, 20u, 2u, 1u, 0u}) {
        BOOST_TEST_CONTEXT("width " << width) {
            const auto line = progress_line(halfway(), width);
            BOOST_TEST(line.size() <= (width > 0 ? width - 1 : 0));
        }
    }
    // The counts need 52 columns; a bar of at least 10 fits from 66 on, shrunk.
    const auto shrunk = progress_line(halfway(), 70);
    BOOST_TEST(shrunk.starts_with("[#######-------] 500,000/1,000,000"));
    BOOST_TEST(shrunk.size() == 69u);
    // Narrower: no bar, the counts first.
    BOOST_TEST(progress_line(halfway(), 60).starts_with("500,000/1,000,000 50%"));
    BOOST_TEST(progress_line(halfway(), 20) == "500,000/1,000,000 5");
}

BOOST_AUTO_TEST_CASE(without_a_total_there_is_no_bar) {
    codef::sweep_progress p;
    p.ids_done = 1234;
    BOOST_TEST(progress_line(p, 200) == "1,234 connectedIds  0/s  failed 0");
}

BOOST_AUTO_TEST_SUITE_END()
