#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxboot/gitops.hpp"
#include "fluxboot/redact.hpp"
#include "support/test_support.hpp"
#include "unit/gitops/gitops_test_util.hpp"

namespace fluxboot::gitops {
namespace {

using testing::input_error;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

TEST(SplitDocuments, KeepsOriginalTextAndReadsIdentity) {
  const std::string stream =
      "# Source: chart/templates/crd.yaml\n"
      "apiVersion: apiextensions.k8s.io/v1\n"
      "kind: CustomResourceDefinition\n"
      "metadata:\n"
      "  name: widgets.example.com   # trailing comment kept\n"
      "---\n"
      "apiVersion: v1\n"
      "kind: ConfigMap\n"
      "metadata:\n"
      "  name: settings\n"
      "  namespace: flux-system\n"
      "data:\n"
      "  key: \"value\"\n";
  auto docs = split_documents(stream, "helmfile template");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].kind, "CustomResourceDefinition");
  EXPECT_EQ(docs[0].api_version, "apiextensions.k8s.io/v1");
  EXPECT_EQ(docs[0].name, "widgets.example.com");
  EXPECT_EQ(docs[0].ns, "");
  EXPECT_EQ(docs[0].line, 1);
  EXPECT_EQ(docs[0].text, stream.substr(0, stream.find("---\n")));
  EXPECT_EQ(docs[1].kind, "ConfigMap");
  EXPECT_EQ(docs[1].ns, "flux-system");
  EXPECT_EQ(docs[1].line, 7);
  EXPECT_EQ(docs[1].text, stream.substr(stream.find("---\n") + 4));
}

TEST(SplitDocuments, DropsEmptyCommentOnlyAndNullDocuments) {
  auto docs = split_documents(
      "---\n---\n# Source: empty template\n---\n~\n---   # comment after marker\nkind: A\n---\n\n\n",
      "s");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].kind, "A");
  EXPECT_EQ(docs[0].line, 7);
}

TEST(SplitDocuments, IndentedMarkersInsideBlockScalarsDoNotSplit) {
  const std::string stream =
      "kind: ConfigMap\n"
      "data:\n"
      "  script: |\n"
      "    echo start\n"
      "    ---\n"
      "    --- not a separator\n"
      "    ...\n"
      "---\n"
      "kind: Secret\n";
  auto docs = split_documents(stream, "s");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_THAT(docs[0].text, HasSubstr("    ---\n    --- not a separator\n    ...\n"));
  EXPECT_EQ(docs[1].kind, "Secret");
}

TEST(SplitDocuments, MarkerNeedsWhitespaceOrCommentAfterIt) {
  auto docs = split_documents("kind: A\nnote: x\n----\n", "s");
  // "----" is not a marker; it is a (bad) plain scalar continuation that yaml-cpp rejects or keeps,
  // but it never starts a new document.
  EXPECT_LE(docs.size(), 1u);
  auto docs2 = split_documents("kind: A\n---#c\nkind: B\n", "s");
  ASSERT_EQ(docs2.size(), 2u);
  EXPECT_EQ(docs2[1].kind, "B");
}

TEST(SplitDocuments, HandlesDocumentEndMarkersAndCrLf) {
  auto docs = split_documents("kind: A\r\n...\r\n---\r\nkind: B\r\n...\n", "s");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].kind, "A");
  EXPECT_EQ(docs[1].kind, "B");
  EXPECT_EQ(docs[1].line, 4);
}

TEST(SplitDocuments, ContentOnTheMarkerLineBelongsToTheDocument) {
  auto docs = split_documents("--- {kind: Inline, metadata: {name: x}}\n", "s");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].kind, "Inline");
  EXPECT_EQ(docs[0].name, "x");
  EXPECT_EQ(docs[0].line, 1);
}

TEST(SplitDocuments, NonMappingDocumentsHaveNoIdentity) {
  auto docs = split_documents("- a\n- b\n---\njust text\n", "s");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].kind, "");
  EXPECT_EQ(docs[1].kind, "");
}

TEST(SplitDocuments, ErrorsNameTheLineInTheWholeStream) {
  const std::string stream =
      "kind: A\n"           // 1
      "---\n"               // 2
      "kind: B\n"           // 3
      "metadata:\n"         // 4
      "  name: [x\n"        // 5
      "  other: y\n";       // 6
  auto msg = input_error([&] { split_documents(stream, "bootstrap/helmfile.d/00-crds.yaml"); });
  EXPECT_THAT(msg, ::testing::MatchesRegex("bootstrap/helmfile.d/00-crds.yaml:[56]:[0-9]+: .+"));
  msg = input_error([&] { split_documents("a: 1\n---\nb: 2\n  c: 3\n", "out"); });
  EXPECT_THAT(msg, ::testing::StartsWith("out:4:"));
}

TEST(SplitDocuments, EmptyStreamHasNoDocuments) {
  EXPECT_TRUE(split_documents("", "s").empty());
  EXPECT_TRUE(split_documents("\xEF\xBB\xBF# bom and comment\n", "s").empty());
}

TEST(SecretValues, CollectsDecodedAndEncodedDataAndStringData) {
  const std::string stream =
      "apiVersion: v1\n"
      "kind: Secret\n"
      "metadata: {name: sops-age, namespace: flux-system}\n"
      "data:\n"
      "  age.agekey: " + base64_encode("AGE-SECRET-KEY-1XYZ") + "\n"
      "stringData:\n"
      "  token: ghp_abcdef\n"
      "  empty: \"\"\n"
      "---\n"
      "apiVersion: v1\n"
      "kind: ConfigMap\n"
      "data:\n"
      "  SETTING: not-a-secret\n";
  auto values = secret_values(split_documents(stream, "s"));
  EXPECT_THAT(values, UnorderedElementsAre(base64_encode("AGE-SECRET-KEY-1XYZ"),
                                           "AGE-SECRET-KEY-1XYZ", "ghp_abcdef"));
}

TEST(SecretValues, KeepsUndecodableDataAndDeduplicates) {
  auto values = secret_values(split_documents(
      "kind: Secret\ndata:\n  a: '%%%not-base64'\n  b: '%%%not-base64'\n", "s"));
  EXPECT_THAT(values, ElementsAre("%%%not-base64"));
}

TEST(SecretValues, ReadsSecretsInsideLists) {
  auto values = secret_values(split_documents(
      "kind: List\nitems:\n  - kind: Secret\n    stringData: {k: hunter22}\n  - kind: ConfigMap\n"
      "    data: {k: public}\n",
      "s"));
  EXPECT_THAT(values, ElementsAre("hunter22"));
}

}  // namespace
}  // namespace fluxboot::gitops
