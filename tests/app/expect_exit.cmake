# Runs RINGLEADER with the ;-list ARGS and fails unless it exits with EXIT.
execute_process(COMMAND ${RINGLEADER} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(NOT rc EQUAL EXIT)
  message(FATAL_ERROR "ringleader ${ARGS}: exit ${rc}, expected ${EXIT}\n${out}${err}")
endif()
