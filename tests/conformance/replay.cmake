# Run one trace and judge the result (cmake -P, so ctest needs nothing else).
#   -DREPLAY=program  -DARGS="--check;..."  -DTRACE=x.trace  -DWORK=dir
#   -DTAG=name (keeps the outputs of tests running at once apart)
# With x.out next to the trace: exit 0 and standard output equal to it, byte
# for byte. With x.err (a malformed trace): a non-zero exit, nothing on
# standard output, and a message naming the same line as the reference's.
get_filename_component(name ${TRACE} NAME_WE)
get_filename_component(dir ${TRACE} DIRECTORY)
set(out ${WORK}/${name}.${TAG}.stdout)
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${REPLAY} ${ARGS} ${TRACE}
  OUTPUT_FILE ${out} ERROR_VARIABLE err RESULT_VARIABLE rc)

if(EXISTS ${dir}/${name}.out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: exit status ${rc}\n${err}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${out} ${dir}/${name}.out
    RESULT_VARIABLE differ)
  if(differ)
    message(FATAL_ERROR "${name}: output ${out} differs from ${dir}/${name}.out\n"
      "(diff them to see where)")
  endif()
elseif(EXISTS ${dir}/${name}.err)
  file(READ ${dir}/${name}.err want)
  string(REGEX MATCH "^line [0-9]+:" want "${want}")
  file(SIZE ${out} size)
  if(rc EQUAL 0 OR NOT rc MATCHES "^[0-9]+$")
    message(FATAL_ERROR "${name}: malformed trace gave exit status '${rc}'\n${err}")
  endif()
  if(NOT size EQUAL 0)
    message(FATAL_ERROR "${name}: malformed trace printed ${size} bytes")
  endif()
  string(FIND "${err}" "${want}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${name}: message does not name '${want}': ${err}")
  endif()
else()
  message(FATAL_ERROR "${name}: no ${name}.out or ${name}.err next to it")
endif()
