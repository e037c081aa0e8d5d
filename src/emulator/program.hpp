// The emulator as a command: shared by the codef-emulator program and `codef emulator`.
#pragma once

#include <iosfwd>
#include <string_view>
#include <vector>

namespace codef::emu {

// Parses args (the options after the program or command name), starts the emulator, prints
// api_url=, oauth_url=, public_key= and ready, and runs until SIGINT or SIGTERM. Returns the exit
// status: 0, 1 when it could not start, 2 for bad options.
int run_program(const std::vector<std::string_view>& args, std::string_view name, std::ostream& out,
                std::ostream& err);

} // namespace codef::emu
