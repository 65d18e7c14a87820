# Cross build for aarch64 (aarch64-linux-gnu) on Debian, tests run under qemu-aarch64.
# See linux-gnu-common.cmake.
set(MS_CROSS_TRIPLE aarch64-linux-gnu)
set(MS_CROSS_PROCESSOR aarch64)
set(MS_CROSS_QEMU_NAME qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-common.cmake)
