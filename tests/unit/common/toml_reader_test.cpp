#include "common/toml_reader.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace tspemu {
namespace {

const std::string kFile = "t.toml";

// The full rendered message ("file:line:col: key: text") of the InputError `f` throws.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TomlReader, UnknownKeySuggestsTheClosestKnownKey) {
  const toml::table t = toml::parse("latency_cycles = 3\nlatncy_cycles = 4\n", kFile);
  EXPECT_EQ(error_of([&] {
              const TomlReader r(t, "link_class.local", "in [link_class.local]", kFile,
                                 {"latency_cycles", "bandwidth_gbps"});
            }),
            "t.toml:2:1: unknown key 'latncy_cycles' in [link_class.local] (did you mean "
            "'latency_cycles'?)");
  // Nothing within two edits: no hint.
  const toml::table u = toml::parse("seed = 1\ncolour = 2\n", kFile);
  EXPECT_EQ(error_of([&] {
              const TomlReader r(u, "graph", "in [graph]", kFile, {"seed", "color_map"});
            }),
            "t.toml:2:1: unknown key 'colour' in [graph]");
}

TEST(TomlReader, ReportsTheUnknownKeyThatComesFirstInTheFile) {
  // Iteration is in key order ('aaa' before 'zzz'); the message names the earlier line.
  const toml::table t = toml::parse("x = 1\nzzz = 2\naaa = 3\n", kFile);
  EXPECT_EQ(error_of([&] { const TomlReader r(t, "", "at the top level", kFile, {"x"}); }),
            "t.toml:2:1: unknown key 'zzz' at the top level");
}

TEST(TomlReader, HintReachDecidesAboutShortWords) {
  const toml::table t = toml::parse("a = { tsp = 0, port = 1 }\nc = 2\n", kFile);
  const std::vector<std::string_view> keys{"a", "b", "class"};
  // One edit rewrites all of 'c': no typo, but within two edits.
  EXPECT_EQ(error_of([&] { const TomlReader r(t, "link[0]", "in link[0]", kFile, keys); }),
            "t.toml:2:1: unknown key 'c' in link[0]");
  EXPECT_EQ(error_of([&] {
              const TomlReader r(t, "link[0]", "in link[0]", kFile, keys, HintReach::two_edits);
            }),
            "t.toml:2:1: unknown key 'c' in link[0] (did you mean 'a'?)");

  EXPECT_EQ(closest_name("matmull", {"add", "matmul", "transpose"}), "matmul");
  EXPECT_EQ(closest_name("q", {"a"}), std::nullopt);
  EXPECT_EQ(closest_name("q", {"a"}, HintReach::two_edits), "a");
  EXPECT_EQ(closest_name("aa", {"a", "b"}), "a");  // the first of equals wins
  EXPECT_EQ(closest_name("xyzw", {"abcd"}, HintReach::two_edits), std::nullopt);
}

TEST(TomlReader, WrongTypeNamesBothTypesAtTheValue) {
  const toml::table t = toml::parse("[chip]\nclock_mhz = \"fast\"\nflag = 1.5\n", kFile);
  const TomlReader r(*t["chip"].as_table(), "chip", "in [chip]", kFile, {"clock_mhz", "flag"});
  EXPECT_EQ(error_of([&] { (void)r.integer("clock_mhz", 0, 10); }),
            "t.toml:2:13: chip.clock_mhz: expected an integer, got a string");
  EXPECT_EQ(error_of([&] { (void)r.number("clock_mhz", 0.0, false, 10.0); }),
            "t.toml:2:13: chip.clock_mhz: expected a number, got a string");
  EXPECT_EQ(error_of([&] { (void)r.boolean("flag"); }),
            "t.toml:3:8: chip.flag: expected a boolean, got a floating-point number");
  EXPECT_EQ(error_of([&] { (void)r.table("flag"); }),
            "t.toml:3:8: chip.flag: expected a table, got a floating-point number");
  EXPECT_EQ(error_of([&] { (void)r.array("clock_mhz"); }),
            "t.toml:2:13: chip.clock_mhz: expected an array, got a string");
}

TEST(TomlReader, OutOfRangeValues) {
  const toml::table t =
      toml::parse("n = -3\none = 2\nbw = 0\nber = nan\nlist = [1, 70, 2]\nempty = []\n", kFile);
  const TomlReader r(t, "", "at the top level", kFile, {"n", "one", "bw", "ber", "list", "empty"});
  EXPECT_EQ(error_of([&] { (void)r.integer("n", 1, 1'000'000'000); }),
            "t.toml:1:5: n: value -3 is out of range [1, 1000000000]");
  EXPECT_EQ(error_of([&] { (void)r.integer("one", 1, 1); }),
            "t.toml:2:7: one: value 2 is not supported (must be 1)");
  EXPECT_EQ(error_of([&] { (void)r.number("bw", 0.0, true, 1e4); }),
            "t.toml:3:6: bw: value 0 is out of range (0, 10000]");
  EXPECT_EQ(error_of([&] { (void)r.number("ber", 0.0, false, 0.5); }),
            "t.toml:4:7: ber: value nan is out of range [0, 0.5]");
  EXPECT_EQ(error_of([&] { (void)r.integer_array("list", 1, 64, 4); }),
            "t.toml:5:12: list[1]: value 70 is out of range [1, 64]");
  EXPECT_EQ(error_of([&] { (void)r.integer_array("list", 1, 64, 2); }),
            "t.toml:5:8: list: expected an array of 1 to 2 integers, got 3");
  EXPECT_EQ(error_of([&] { (void)r.integer_array("empty", 1, 64, 1); }),
            "t.toml:6:9: empty: expected an array of 1 integer");

  EXPECT_EQ(r.integer("n", -3, 0), -3);
  EXPECT_EQ(r.number("bw", 0.0, false, 1.0), 0.0);  // an integer is a number
  EXPECT_EQ(r.integer_array("list", 1, 70, 3), (std::vector<std::int64_t>{1, 70, 2}));
  EXPECT_EQ(r.integer("absent", 0, 1), std::nullopt);
}

TEST(TomlReader, LocatesMissingKeysAndTableErrorsAtTheTable) {
  const toml::table t = toml::parse("x = 1\n\n[[link]]\na = { tsp = 0 }\n", kFile);
  const TomlReader top(t, "", "at the top level", kFile, {"x", "link"});
  const toml::array* links = top.array_of_tables("link");
  ASSERT_NE(links, nullptr);
  const TomlReader link(*(*links)[0].as_table(), "link[0]", "in link[0]", kFile, {"a", "b"});
  EXPECT_EQ(link.where().to_string(), "t.toml:3:1");
  EXPECT_EQ(link.where("a").to_string(), "t.toml:4:5");
  EXPECT_EQ(link.where("b").to_string(), "t.toml:3:1");  // absent: the table
  EXPECT_EQ(link.key_path("a"), "link[0].a");
  EXPECT_EQ(error_of([&] { (void)link.required_table("b"); }),
            "t.toml:3:1: link[0]: missing required key 'b' in link[0]");
  const TomlReader a(link.required_table("a"), link.key_path("a"), "in link[0].a", kFile,
                     {"tsp", "port"});
  EXPECT_EQ(error_of([&] { (void)a.required_integer("port", 0, 15); }),
            "t.toml:4:5: link[0].a: missing required key 'port' in link[0].a");
  // The root table starts at 1:1.
  EXPECT_EQ(error_of([&] { top.fail_table("no TSPs"); }), "t.toml:1:1: no TSPs");
  EXPECT_EQ(error_of([&] { top.fail("x", "bad x"); }), "t.toml:1:5: x: bad x");
  EXPECT_EQ(error_of([&] { (void)top.required_string("name"); }),
            "t.toml:1:1: missing required key 'name' at the top level");
}

TEST(TomlReader, LocatesArrayElements) {
  const toml::table t = toml::parse("inputs = [\"a\",\n  7]\nlink = [{ a = 1 }, 3]\n", kFile);
  const TomlReader r(t, "op[0]", "in op[0]", kFile, {"inputs", "link"});
  EXPECT_EQ(error_of([&] { r.fail_element("inputs", 1, "unknown tensor"); }),
            "t.toml:2:3: op[0].inputs[1]: unknown tensor");
  // No such element: at the value.
  EXPECT_EQ(error_of([&] { r.fail_element("inputs", 5, "unknown tensor"); }),
            "t.toml:1:10: op[0].inputs: unknown tensor");
  EXPECT_EQ(error_of([&] { (void)r.array_of_tables("link"); }),
            "t.toml:3:20: op[0].link: expected an array of tables ([[link]]), got an element "
            "that is an integer");
  EXPECT_EQ(error_of([&] { (void)r.array_of_tables("inputs"); }),
            "t.toml:1:11: op[0].inputs: expected an array of tables ([[inputs]]), got an element "
            "that is a string");
  EXPECT_EQ(r.required_array("inputs").size(), 2U);
}

TEST(TomlReader, TypeNames) {
  const toml::table t = toml::parse(
      "s = \"x\"\ni = 1\nf = 1.0\nb = true\nd = 2024-01-02\nh = 10:00:00\n"
      "dt = 2024-01-02T10:00:00Z\na = []\n[t]\n",
      kFile);
  EXPECT_EQ(toml_type_name(*t.get("s")), "a string");
  EXPECT_EQ(toml_type_name(*t.get("i")), "an integer");
  EXPECT_EQ(toml_type_name(*t.get("f")), "a floating-point number");
  EXPECT_EQ(toml_type_name(*t.get("b")), "a boolean");
  EXPECT_EQ(toml_type_name(*t.get("d")), "a date");
  EXPECT_EQ(toml_type_name(*t.get("h")), "a time");
  EXPECT_EQ(toml_type_name(*t.get("dt")), "a date-time");
  EXPECT_EQ(toml_type_name(*t.get("a")), "an array");
  EXPECT_EQ(toml_type_name(*t.get("t")), "a table");
}

// Issue 10: a table header of 40,000 dotted parts crashed toml++ (stack overflow) in `topo`,
// `compile` and `run --topology`. parse_toml refuses it before toml++ sees it, located.
TEST(ParseToml, RefusesKeysAndValuesNestedTooDeep) {
  std::string deep = "name = \"x\"\n[";
  for (int i = 0; i < 40000; ++i) deep += i == 0 ? "a" : ".a";
  deep += "]\n";
  auto error_of = [](const std::string& text) {
    try {
      (void)parse_toml(text, kFile);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of(deep),
            "t.toml:2:257: the TOML nests deeper than 128 levels (dotted key parts plus nested "
            "arrays and inline tables)");
  std::string arrays = "x = " + std::string(200, '[') + std::string(200, ']') + "\n";
  EXPECT_EQ(error_of(arrays),
            "t.toml:1:132: the TOML nests deeper than 128 levels (dotted key parts plus nested "
            "arrays and inline tables)");
  std::string inline_tables = "x = {a.b = {c.d = 1}}\n";
  EXPECT_EQ(error_of(inline_tables), "no error");
  // Quoted keys and strings do not count: one part, however many dots or brackets they hold.
  const std::string quoted = "\"" + std::string(500, '.') + "\" = '" + std::string(500, '[') +
                             "'\ns = \"\"\"\n" + std::string(300, '{') + "\n\"\"\"\n";
  EXPECT_EQ(error_of(quoted), "no error");
  // 128 levels pass, 129 do not.
  std::string edge = "[a";
  for (int i = 1; i < 128; ++i) edge += ".a";
  EXPECT_EQ(error_of(edge + "]\n"), "no error");
  EXPECT_NE(error_of(edge + ".a]\n"), "no error");
  EXPECT_EQ(error_of("x = [1.5, 2.5e3, 3.25]\n[t]\ny = 1979-05-27T07:32:00Z\n"), "no error");
}

TEST(ParseToml, InvalidTomlIsLocated) {
  try {
    (void)parse_toml("a = \n", kFile);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("t.toml:1:", 0), 0U) << e.what();
    EXPECT_NE(std::string(e.what()).find("invalid TOML: "), std::string::npos);
  }
}

}  // namespace
}  // namespace tspemu
