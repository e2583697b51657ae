# Runs `ringleader check` on a broken config and checks each error names its place and key
# (or, with -DEXPECTED="a;b", that it prints each of those).
execute_process(COMMAND ${RINGLEADER} check -c ${CONFIG}
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "check accepted a broken config:\n${out}")
endif()
if(NOT DEFINED EXPECTED)
  set(EXPECTED
      "bad_config.toml:3:1: proxy.listn: unknown key; did you mean \"listen\"?"
      "bad_config.toml:6:10: ring.vnodes: expected an integer between 1 and 10000, got -5")
endif()
foreach(expected ${EXPECTED})
  string(FIND "${err}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "missing error: ${expected}\ngot:\n${err}")
  endif()
endforeach()
