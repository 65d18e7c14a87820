# Compile one case of typed_compile.c. Case 0 must compile; every other case
# must fail, and fail on a type mismatch (not on some other mistake).
#   -DCC=compiler -DFLAGS="..." -DINCLUDE=dir -DSOURCE=file -DCASE=n
# The messages accepted are those of gcc and clang for an incompatible
# pointer, a _Generic selection with no matching association (C) and a call
# with an argument of the wrong type (C++).
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
    message(FATAL_ERROR "case ${CASE} compiled, but passes a wrong type:\n${out}")
  endif()
  set(type_error
    "incompatible.pointer.type"
    "is not compatible with any association"
    "not compatible with any generic association"
    "cannot convert"
    "no matching function"
    "invalid conversion from"
    "cannot initialize a parameter")
  list(JOIN type_error "|" pattern)
  if(NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "case ${CASE} failed for another reason:\n${out}")
  endif()
  message(STATUS "case ${CASE} refused as expected")
endif()
