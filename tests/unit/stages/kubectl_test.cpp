#include "stages/kubectl.hpp"

#include <gtest/gtest.h>

namespace fluxboot::stages {
namespace {

// kubectl's words for an API server that is restarting (retried) and for real refusals (not).
TEST(TransientApiError, RestartsAreTransientRefusalsAreNot) {
  for (const char* out : {
           "Error from server (ServiceUnavailable): the server is currently unable to handle the request",
           "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port? "
           "dial tcp 127.0.0.1:6443: connect: connection refused",
           "Unable to connect to the server: net/http: TLS handshake timeout",
           "error: Patch \"https://127.0.0.1:6443/api/v1/namespaces/x\": unexpected EOF",
           "Error from server: etcdserver: leader changed"})
    EXPECT_TRUE(transient_api_error(out)) << out;
  for (const char* out : {
           "Error from server (Forbidden): namespaces \"x\" is forbidden: User cannot patch resource",
           "Error from server (Invalid): Namespace \"X\" is invalid: metadata.name: Invalid value",
           "error: error validating data: unknown field \"spec.bogus\"", ""})
    EXPECT_FALSE(transient_api_error(out)) << out;
}

}  // namespace
}  // namespace fluxboot::stages
