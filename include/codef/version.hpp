// The library's version. CMakeLists.txt reads the project's version from these lines.
#pragma once

#define CODEF_VERSION_MAJOR 0
#define CODEF_VERSION_MINOR 1
#define CODEF_VERSION_PATCH 0
// "MAJOR.MINOR.PATCH"
#define CODEF_VERSION_STRING "0.1.0"
