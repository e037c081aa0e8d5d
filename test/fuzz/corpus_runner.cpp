// The seed corpora as regression tests: runs a fuzz target once over every file of the
// directories (or the files) it is given, in builds without libFuzzer. An invariant that fails
// aborts, and the test fails.
#include "fuzz_check.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    std::vector<fs::path> files;
    for (int i = 1; i < argc; ++i) {
        const fs::path p(argv[i]);
        if (fs::is_directory(p)) {
            for (const auto& e : fs::directory_iterator(p))
                if (e.is_regular_file()) files.push_back(e.path());
        } else if (fs::is_regular_file(p)) {
            files.push_back(p);
        } else {
            std::cerr << p << ": no such file or directory\n";
            return 2;
        }
    }
    if (files.empty()) {
        std::cerr << "usage: " << argv[0] << " CORPUS_DIR_OR_FILE...  (and at least one input)\n";
        return 2;
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::vector<char> bytes(static_cast<std::size_t>(fs::file_size(f)));
        if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
            std::cerr << f << ": cannot be read\n";
            return 2;
        }
        std::cerr << "running " << f.filename().string() << " (" << bytes.size() << " bytes)\n";
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    std::cout << files.size() << " inputs passed\n";
    return 0;
}
