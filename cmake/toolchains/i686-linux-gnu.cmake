# Cross build for i686 (i686-linux-gnu) on Debian, tests run under qemu-i386.
# See linux-gnu-common.cmake.
set(MS_CROSS_TRIPLE i686-linux-gnu)
set(MS_CROSS_PROCESSOR i686)
set(MS_CROSS_QEMU_NAME qemu-i386)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-common.cmake)
