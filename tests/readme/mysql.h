// The README's MySQL example's functions, for mysql_test.

#ifndef DEFT_TESTS_README_MYSQL_H_
#define DEFT_TESTS_README_MYSQL_H_

#include <cstdint>
#include <string>

#include "deferred/deferred.h"
#include "mysql/pool.h"

deft::Deferred<bool> checkLogin(deft::mysql::ConnectionPool& pool, std::string user,
                                std::string password);
deft::Deferred<std::uint64_t> placeOrder(deft::mysql::ConnectionPool& pool, std::string item);

#endif  // DEFT_TESTS_README_MYSQL_H_
