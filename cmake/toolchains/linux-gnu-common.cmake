# Shared part of the cross toolchain files in this folder: Debian's cross gcc
# for MS_CROSS_TRIPLE (set by the including file), its sysroot
# /usr/MS_CROSS_TRIPLE, and qemu-user as CMAKE_CROSSCOMPILING_EMULATOR so
# that ctest runs every test executable under qemu.
#
#   cmake -S . -B build-cross-aarch64 \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#
# MS_CROSS_EXTRA_ROOT (optional): a prefix holding libraries built for the
# target (the cross stage puts cmocka there); it is searched by find_* and by
# pkg-config. Debian packages: gcc-TRIPLE, libc6-dev-ARCH-cross, qemu-user.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${MS_CROSS_PROCESSOR})

set(CMAKE_C_COMPILER ${MS_CROSS_TRIPLE}-gcc)
# C++ only where the cross g++ is installed (tests/cxx skips otherwise).
find_program(MS_CROSS_CXX ${MS_CROSS_TRIPLE}-g++)
if(MS_CROSS_CXX)
  set(CMAKE_CXX_COMPILER ${MS_CROSS_CXX})
endif()

set(MS_CROSS_SYSROOT /usr/${MS_CROSS_TRIPLE})
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MS_CROSS_EXTRA_ROOT)
set(CMAKE_FIND_ROOT_PATH ${MS_CROSS_SYSROOT} ${MS_CROSS_EXTRA_ROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must never hand the host's libraries to the cross build.
if(MS_CROSS_EXTRA_ROOT)
  set(ENV{PKG_CONFIG_LIBDIR} "${MS_CROSS_EXTRA_ROOT}/lib/pkgconfig")
else()
  set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${MS_CROSS_TRIPLE}/pkgconfig")
endif()
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Test programs are linked statically: qemu-user then needs no target
# loader or libraries. A dynamically linked i686 program under qemu-i386 can
# load the host's /lib32/libc.so.6 (libc6-i386) instead of the cross one,
# and hangs in its threaded tests; a static one runs.
# find_library() must then give static archives too (libm.a, not libm.so):
# set after project() by static-libraries.cmake, since CMake's platform
# files, read after this one, set the suffixes again.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_PROJECT_INCLUDE ${CMAKE_CURRENT_LIST_DIR}/static-libraries.cmake)

find_program(MS_CROSS_QEMU ${MS_CROSS_QEMU_NAME})
if(MS_CROSS_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MS_CROSS_QEMU} -L ${MS_CROSS_SYSROOT})
endif()
