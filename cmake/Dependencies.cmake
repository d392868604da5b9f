# Every dependency comes from a Debian package (see .ci/install-deps); nothing is downloaded.
find_package(Threads REQUIRED)
find_package(yaml-cpp REQUIRED)          # target: yaml-cpp (0.7)
find_package(CLI11 REQUIRED)             # target: CLI11::CLI11 (2.1)
find_package(nlohmann_json REQUIRED)     # target: nlohmann_json::nlohmann_json
find_package(CURL REQUIRED)              # target: CURL::libcurl
find_package(fmt REQUIRED)               # target: fmt::fmt (9)
find_package(spdlog REQUIRED)            # target: spdlog::spdlog (1.10, external fmt)
find_package(ZLIB REQUIRED)             # target: ZLIB::ZLIB — diagnose bundles (src/ops/tar_gz.cpp only)
find_package(OpenSSL REQUIRED)           # libcrypto: SHA-256 (src/common/sha256.cpp); fluxboot-sim: TLS and certificates
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)  # fluxboot-sim only
if(FLUXBOOT_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
