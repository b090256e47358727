// The instruction-set comparison of the ranks (kernel_check.hpp) and the test-only failure hook
// (test_hooks.hpp): one warning that groups the ranks by instruction set, names their hosts and
// the remedy; none when all agree; FMNIST_TEST_FAIL_AT throws only on its rank and step.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "fmnist/error.hpp"
#include "fmnist/kernel_isa.hpp"
#include "kernel_check.hpp"
#include "test_hooks.hpp"

namespace fmnist {
namespace {

TEST(KernelCheck, NoWarningWhenTheRanksAgree) {
  EXPECT_EQ(kernel_difference({"avx2 (32-byte vectors), fma\na", "avx2 (32-byte vectors), fma\nb"}), "");
  EXPECT_EQ(kernel_difference({"sse2 (16-byte vectors)\na"}), "");
}

TEST(KernelCheck, GroupsTheRanksAndNamesTheirHosts) {
  const std::string w = kernel_difference({"avx512 (64-byte vectors), fma\nn1", "sse2 (16-byte vectors)\nn2",
                                           "avx512 (64-byte vectors), fma\nn3"});
  EXPECT_NE(w.find("avx512 (64-byte vectors), fma on rank 0 (n1), rank 2 (n3)"), std::string::npos) << w;
  EXPECT_NE(w.find("sse2 (16-byte vectors) on rank 1 (n2)"), std::string::npos) << w;
  EXPECT_NE(w.find("-DFMNIST_NATIVE=OFF on every node"), std::string::npos) << w;
}

TEST(KernelIsa, NamesTheVectorWidth) {
  const std::string isa = kernel_isa();
  EXPECT_NE(isa.find("-byte vectors)"), std::string::npos) << isa;
}

TEST(TestHooks, FailAtThrowsOnlyOnItsRankAndStep) {
  setenv("FMNIST_TEST_FAIL_AT", "1:3", 1);  // read once, at the first call
  EXPECT_NO_THROW(test_hooks::before_step(0, 3));
  EXPECT_NO_THROW(test_hooks::before_step(1, 2));
  try {
    test_hooks::before_step(1, 3);
    ADD_FAILURE() << "no error at rank 1, step 3";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::internal);
    EXPECT_NE(std::string(e.what()).find("FMNIST_TEST_FAIL_AT=1:3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fmnist
