# Warnings for vigil's own targets only (never for users who link us).
function(vigil_warnings target)
  # -Wno-missing-field-initializers: aggregates like vigil::Message give every
  # member a default, so leaving trailing ones out is intended (clang agrees).
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
                         -Wno-missing-field-initializers)
  if(VIGIL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
