# Installed use: build memory_set from SOURCE_DIR in WORK_DIR (a plain build,
# whatever flags the enclosing build has), install it with
# `cmake --install --prefix` into a prefix of its own (not the configured
# one: the package must be relocatable), then build and run a consumer
# twice: tests/install/consumer through find_package(memory_set), and
# consumer/main.c compiled by hand with the flags `pkg-config` gives; the
# same for the address-space layer (consumer/aspace_main.c).
#
#   cmake -DSOURCE_DIR=... -DWORK_DIR=... -DC_COMPILER=cc -P install_test.cmake
cmake_minimum_required(VERSION 3.16)
foreach(v SOURCE_DIR WORK_DIR C_COMPILER)
  if(NOT ${v})
    message(FATAL_ERROR "install_test.cmake: set -D${v}=")
  endif()
endforeach()

function(step what)
  message(STATUS "install test: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (${rc}):\n${out}")
  endif()
  set(STEP_OUTPUT "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(build ${WORK_DIR}/build)
set(prefix ${WORK_DIR}/prefix)

# Plain environment: no flags of an enclosing sanitizer build.
unset(ENV{CFLAGS})
unset(ENV{LDFLAGS})
set(ENV{CC} ${C_COMPILER})

step("configure the library" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${build}
  -DCMAKE_BUILD_TYPE=Release -DMEMORY_SET_TESTS=OFF
  -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_INSTALL_PREFIX=/nonexistent/prefix)
step("build the library" ${CMAKE_COMMAND} --build ${build} -j 2
  --target memory_set_static memory_set_shared memory_set_aspace_static
  memory_set_aspace_shared memory_set_aspace_sim)
step("install to ${prefix}" ${CMAKE_COMMAND} --install ${build} --prefix ${prefix})
file(GLOB_RECURSE installed RELATIVE ${prefix} ${prefix}/*)
list(SORT installed)
string(REPLACE ";" "\n  " listing "${installed}")
message(STATUS "installed:\n  ${listing}")

# 1. find_package(memory_set)
step("configure the consumer (find_package)" ${CMAKE_COMMAND}
  -S ${CMAKE_CURRENT_LIST_DIR}/consumer -B ${WORK_DIR}/consumer
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER})
step("build the consumer (find_package)" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
foreach(exe consumer_static consumer_shared aspace_consumer)
  step("run ${exe}" ${WORK_DIR}/consumer/${exe})
  message(STATUS "  ${STEP_OUTPUT}")
endforeach()

# 2. pkg-config
find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
file(GLOB_RECURSE pcfile ${prefix}/*/pkgconfig/memory_set.pc)
if(NOT pcfile)
  message(FATAL_ERROR "install test: no memory_set.pc under ${prefix}")
endif()
get_filename_component(pcdir ${pcfile} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pcdir})
step("pkg-config --cflags --libs memory_set" ${PKG_CONFIG} --cflags --libs memory_set)
string(STRIP "${STEP_OUTPUT}" pcflags)
separate_arguments(pcflags UNIX_COMMAND "${pcflags}")
message(STATUS "  pkg-config: ${pcflags}")
step("pkg-config --modversion" ${PKG_CONFIG} --modversion memory_set)
# Link the static library (-Wl,-Bstatic around -lmemory_set would do too);
# here: as pkg-config says, which picks the shared one, run with its libdir.
step("compile the consumer (pkg-config)" ${C_COMPILER} -std=c11 -Wall -Wextra
  -Werror ${CMAKE_CURRENT_LIST_DIR}/consumer/main.c ${pcflags}
  -o ${WORK_DIR}/consumer_pkgconfig)
get_filename_component(libdir ${pcdir} DIRECTORY)
set(ENV{LD_LIBRARY_PATH} ${libdir})
step("run consumer_pkgconfig" ${WORK_DIR}/consumer_pkgconfig)
message(STATUS "  ${STEP_OUTPUT}")

# The address-space layer through its own pkg-config file; the simulated
# machine is a static library beside it.
step("pkg-config --cflags --libs memory_set_aspace" ${PKG_CONFIG} --cflags --libs memory_set_aspace)
string(STRIP "${STEP_OUTPUT}" aspace_flags)
separate_arguments(aspace_flags UNIX_COMMAND "${aspace_flags}")
step("compile the aspace consumer (pkg-config)" ${C_COMPILER} -std=c11 -Wall
  -Wextra -Werror ${CMAKE_CURRENT_LIST_DIR}/consumer/aspace_main.c
  -lmemory_set_aspace_sim ${aspace_flags} -o ${WORK_DIR}/aspace_pkgconfig)
step("run aspace_pkgconfig" ${WORK_DIR}/aspace_pkgconfig)
message(STATUS "  ${STEP_OUTPUT}")
message(STATUS "install test: passed")
