# Run at every build (cmake -P, from CMakeLists.txt's fmnist_commit target): writes OUTPUT, a header
# that defines FMNIST_GIT_COMMIT as the source tree's Git commit ("unknown" outside Git, or without
# git), with "-modified" when tracked files differ from it. OUTPUT is replaced only when the text
# changes, so an unchanged commit rebuilds nothing.
set(commit "unknown")
find_program(GIT_EXECUTABLE git)
if(GIT_EXECUTABLE)
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
    OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE failed ERROR_QUIET)
  if(NOT failed AND head)
    set(commit "${head}")
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" diff --quiet HEAD --
      RESULT_VARIABLE modified ERROR_QUIET)
    if(modified)
      string(APPEND commit "-modified")
    endif()
  endif()
endif()
set(text "// Written by src/version/commit.cmake at build time: do not edit.\n#define FMNIST_GIT_COMMIT \"${commit}\"\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUTPUT}" "${text}")
endif()
