// libFuzzer target: the response parser (see parser_fuzzer.h for what it checks).
#include "tests/http/fuzz/parser_fuzzer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return deft::http::fuzz::fuzzOne<deft::http::ResponseHead>(data, size);
}
