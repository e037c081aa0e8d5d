// codef-emulator: the CODEF emulator as a program (also `codef emulator`).
#include "emulator/program.hpp"

#include <iostream>

int main(int argc, char** argv) {
    return codef::emu::run_program(std::vector<std::string_view>(argv + 1, argv + argc),
                                   "codef-emulator", std::cout, std::cerr);
}
