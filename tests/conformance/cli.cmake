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

# --quiet: nothing on stdout, the figures on stderr.
run(--quiet ${t})
if(NOT rc EQUAL 0 OR NOT out STREQUAL "" OR
   NOT err MATCHES "^ops 254 secs [0-9.]+ ns_per_op [0-9.]+ areas 59\n$")
  fail("--quiet should report ops, secs, ns_per_op and areas on stderr only")
endif()

# --maps: one /proc/PID/maps line per area, as many as the final dump has.
run(--maps ${t})
string(REGEX MATCHALL "[0-9a-f]+-[0-9a-f]+ [r-][w-][x-][sp] +[0-9.]+[KMGTPE] (anon|file)\n"
  lines "${out}")
list(LENGTH lines n)
if(NOT rc EQUAL 0 OR NOT n EQUAL 59)
  fail("--maps should print the 59 areas in maps format")
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
