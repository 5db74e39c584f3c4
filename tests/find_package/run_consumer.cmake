# Installs the build tree into a scratch prefix, then configures, builds and runs the consumer
# against it (fmt's find-package-test). Inputs: BUILD_DIR, SOURCE_DIR, WORK_DIR, GENERATOR.
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
if(NOT EXISTS "${WORK_DIR}/prefix/bin/sxplan")
  message(FATAL_ERROR "sxplan was not installed")
endif()
execute_process(COMMAND "${CMAKE_CTEST_COMMAND}" --build-and-test "${SOURCE_DIR}" "${WORK_DIR}/consumer"
                        --build-generator "${GENERATOR}"
                        --build-options "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix"
                        --test-command "${CMAKE_CTEST_COMMAND}" --output-on-failure
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer project failed: ${rc}")
endif()
