// The application's own compiled Asio, Asio SSL and Beast, which codef built with
// CODEF_ASIO_SEPARATE_COMPILATION=OFF links against.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
