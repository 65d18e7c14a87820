# Cross build for armhf (arm-linux-gnueabihf) on Debian, tests run under qemu-arm.
# See linux-gnu-common.cmake.
set(MS_CROSS_TRIPLE arm-linux-gnueabihf)
set(MS_CROSS_PROCESSOR armv7l)
set(MS_CROSS_QEMU_NAME qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-common.cmake)
