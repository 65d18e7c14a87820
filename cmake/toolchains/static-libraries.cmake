# Included after project() in cross builds (see linux-gnu-common.cmake): the
# test programs are linked with -static, so find_library() must return
# static archives.
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
