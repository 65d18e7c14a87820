# Cross build for riscv64 (riscv64-linux-gnu) on Debian, tests run under qemu-riscv64.
# See linux-gnu-common.cmake.
set(MS_CROSS_TRIPLE riscv64-linux-gnu)
set(MS_CROSS_PROCESSOR riscv64)
set(MS_CROSS_QEMU_NAME qemu-riscv64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-common.cmake)
