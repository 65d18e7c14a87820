# Run one example and compare what it prints with its expected output.
#   -DEXE=program -DEXPECTED=file.out -DACTUAL=file
execute_process(COMMAND ${EXE} OUTPUT_FILE ${ACTUAL} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${EXPECTED} ${ACTUAL}
  RESULT_VARIABLE differ)
if(differ)
  execute_process(COMMAND diff -u ${EXPECTED} ${ACTUAL})
  message(FATAL_ERROR "${EXE}: output differs from ${EXPECTED} (diff above)")
endif()
