# INTERFACE targets linked PRIVATE by first-party targets only (ccache's pattern):
# third-party headers never see our warning flags.
add_library(fluxboot_settings INTERFACE)
target_compile_features(fluxboot_settings INTERFACE cxx_std_20)

add_library(fluxboot_warnings INTERFACE)
target_compile_options(fluxboot_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
# GCC 12 reports -Wrestrict false positives inside libstdc++'s std::string operator+ at -O2/-O3
# (GCC bug 105329); they are not about our code and would break warnings-as-errors builds.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(fluxboot_warnings INTERFACE -Wno-restrict)
endif()
if(FLUXBOOT_WERROR)
  target_compile_options(fluxboot_warnings INTERFACE -Werror)
endif()

add_library(fluxboot_sanitizers INTERFACE)
if(FLUXBOOT_SANITIZE)
  target_compile_options(fluxboot_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(fluxboot_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# One call per first-party target.
function(fluxboot_target_defaults target)
  target_link_libraries(${target} PRIVATE fluxboot_settings fluxboot_warnings fluxboot_sanitizers)
endfunction()
