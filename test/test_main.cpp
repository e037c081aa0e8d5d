// The Boost.Test entry point shared by the test programs.
#define BOOST_TEST_MODULE codef
#include <boost/test/unit_test.hpp>
