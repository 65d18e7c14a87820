# The command line of ms-replay: -DREPLAY=program -DTRACES=dir -DWORK=dir
set(t ${TRACES}/gcc.trace)
file(MAKE_DIRECTORY ${WORK})

macro(run)
  execute_process(COMMAND ${REPLAY} ${ARGN} OUTPUT_VARIABLE out
    ERROR_VARIABLE err RESULT_VARIABLE rc)
endmacro()

macro(fail what)
  message(FATAL_ERROR "ms-replay: ${what}\nexit: ${rc}\nstdout: ${out}\nstderr: ${err}")
endmacro()

run()
if(NOT rc EQUAL 2)
  fail("no arguments should be a usage error")
endif()
run(--bogus ${t})
if(NOT rc EQUAL 2)
  fail("an unknown option should be a usage error")
endif()
run(${t} ${t})
if(NOT rc EQUAL 2)
  fail("two traces should be a usage error")
endif()
run(${WORK}/no-such.trace)
if(NOT rc EQUAL 1 OR NOT err MATCHES "no-such.trace")
  fail("a missing file should fail, naming it")
endif()

# --quiet: nothing on stdout, the figures on stderr; bytes_per_area is
# bytes / areas with one decimal, 0.0 for no areas.
run(--quiet ${t})
if(NOT rc EQUAL 0 OR NOT out STREQUAL "" OR
   NOT err MATCHES "^ops 254 secs [0-9.]+ ns_per_op [0-9.]+ areas 59 bytes ([0-9]+) bytes_per_area ([0-9]+)\\.([0-9])\n$")
  fail("--quiet should report ops, secs, ns_per_op, areas, bytes and bytes_per_area on stderr only")
endif()
set(bytes ${CMAKE_MATCH_1})
math(EXPR tenths "${CMAKE_MATCH_2} * 10 + ${CMAKE_MATCH_3}")
math(EXPR want "(${bytes} * 10 + 59 / 2) / 59")
math(EXPR diff "${tenths} - ${want}")
if(bytes EQUAL 0 OR diff GREATER 1 OR diff LESS -1)
  fail("--quiet: bytes_per_area should be bytes / areas (${bytes} / 59)")
endif()
file(WRITE ${WORK}/cli-empty.trace "map 0x1000 0x1000 0x1\nclear\n")
run(--quiet ${WORK}/cli-empty.trace)
if(NOT rc EQUAL 0 OR NOT err MATCHES " areas 0 bytes [0-9]+ bytes_per_area 0\\.0\n$")
  fail("--quiet should print bytes_per_area 0.0 when no area is left")
endif()

# --maps: one /proc/PID/maps line per area, as many as the final dump has,
# then the size and anon or file.
run(--maps ${t})
string(REGEX MATCHALL "[0-9a-f]+-[0-9a-f]+ [r-][w-][x-][sp] 00000000 00:00 0 +[0-9.]+[KMGTPE] (anon|file)\n"
  lines "${out}")
list(LENGTH lines n)
if(NOT rc EQUAL 0 OR NOT n EQUAL 59)
  fail("--maps should print the 59 areas in maps format")
endif()
# The letters (bit 0 r, 1 w, 2 x, 3 s, 4 file), 8 digits at least, and an
# area ending at 2^64.
file(WRITE ${WORK}/cli-maps.trace
  "map 0x1000 0x2000 0x1d\nmap 0xfffffffffffff000 0x1000 0x3\n")
run(--maps ${WORK}/cli-maps.trace)
if(NOT rc EQUAL 0 OR NOT out STREQUAL
   "00001000-00003000 r-xs 00000000 00:00 0      8K file\nfffffffffffff000-10000000000000000 rw-p 00000000 00:00 0      4K anon\n")
  fail("--maps should print the letters and an end at 2^64 in full")
endif()

# Standard input, and --check with --quiet.
execute_process(COMMAND ${REPLAY} - INPUT_FILE ${t} OUTPUT_FILE ${WORK}/cli.stdin.out
  RESULT_VARIABLE rc)
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/cli.stdin.out
  ${TRACES}/gcc.out RESULT_VARIABLE differ)
if(NOT rc EQUAL 0 OR differ)
  fail("'-' should read the trace from standard input")
endif()
run(--check --quiet ${t})
if(NOT rc EQUAL 0 OR NOT out STREQUAL "" OR NOT err MATCHES "^ops 254 ")
  fail("--check --quiet should check and report")
endif()
