# Compile one case of typed_compile.c. Case 0 must compile; every other case
# must fail, and fail on a pointer type mismatch (not on some other mistake).
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
execute_process(
  COMMAND ${CC} ${flags} -fsyntax-only -I${INCLUDE} -DCASE=${CASE} ${SOURCE}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
if(CASE EQUAL 0)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "case 0 must compile:\n${out}")
  endif()
else()
  if(rc EQUAL 0)
    message(FATAL_ERROR "case ${CASE} compiled, but passes a wrong type")
  endif()
  if(NOT out MATCHES "incompatible.pointer.type")
    message(FATAL_ERROR "case ${CASE} failed for another reason:\n${out}")
  endif()
  message(STATUS "case ${CASE} refused as expected")
endif()
