// Every malformed-graph case gives one exact, located message (file:line:column: key: text).
#include "test_util.hpp"
#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace tspemu {
namespace {

struct BadCase {
  const char* name;
  std::string text;
  const char* expected;
  friend void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }
};

// Lines 1-7: tensors a [4, 8] fp16, b [8, 2] fp16, c [4, 2] fp16 and i [4, 8] int8 on tsp 0,
// s [4, 8] fp16 split over tsps 0 and 1; lines 8-9: outputs. Ops start on line 10.
const std::string kPrelude =
    "tensor = [\n"
    "  {name = \"a\", shape = [4, 8], dtype = \"fp16\", placement = {tsp = 0}, init = {recipe = "
    "\"zero\"}},\n"
    "  {name = \"b\", shape = [8, 2], dtype = \"fp16\", placement = {tsp = 0}, init = {recipe = "
    "\"zero\"}},\n"
    "  {name = \"c\", shape = [4, 2], dtype = \"fp16\", placement = {tsp = 0}, init = {recipe = "
    "\"zero\"}},\n"
    "  {name = \"i\", shape = [4, 8], dtype = \"int8\", placement = {tsp = 0}, init = {recipe = "
    "\"zero\"}},\n"
    "  {name = \"s\", shape = [4, 8], dtype = \"fp16\", placement = {tsps = [0, 1], split_axis = "
    "1}, init = {recipe = \"zero\"}},\n"
    "]\n"
    "[outputs]\n"
    "names = [\"a\"]\n";

// One op after the prelude (line 10: [[op]], 11: kind, 12: inputs, 13: output, 14+: options).
std::string with_op(const std::string& kind, const std::string& inputs,
                    const std::string& options = "", const std::string& output = "y") {
  return kPrelude + "[[op]]\nkind = \"" + kind + "\"\ninputs = " + inputs + "\noutput = \"" +
         output + "\"\n" + options;
}

// A single [[tensor]] table (line 1) with the given body lines, then outputs.
std::string with_tensor(const std::string& body) {
  return "[[tensor]]\nname = \"t\"\n" + body + "[outputs]\nnames = [\"t\"]\n";
}

// a [4, 8] and b [8, 2] fp16 on tsp 0 (lines 1-12), then a [[tensor]] table for "y" (line 13) whose
// shape, dtype and placement follow; kMatmulOp makes y = a x b.
const std::string kDeclared =
    "[[tensor]]\nname = \"a\"\nshape = [4, 8]\ndtype = \"fp16\"\nplacement = {tsp = 0}\n"
    "init = {recipe = \"zero\"}\n"
    "[[tensor]]\nname = \"b\"\nshape = [8, 2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\n"
    "init = {recipe = \"zero\"}\n"
    "[[tensor]]\nname = \"y\"\n";
const std::string kMatmulOp =
    "[[op]]\nkind = \"matmul\"\ninputs = [\"a\", \"b\"]\noutput = \"y\"\n[outputs]\nnames = "
    "[\"y\"]\n";

const BadCase kBadCases[] = {
    // ---- TOML and top level ----
    {"SyntaxError", "[graph\nseed = 1\n",
     "g.toml:1:7: invalid TOML: Error while parsing table header: expected ']', saw '\\n'"},
    {"UnknownTopLevelKey", "tensors = 3\n",
     "g.toml:1:1: unknown key 'tensors' at the top level (did you mean 'tensor'?)"},
    {"UnknownGraphKey", "[graph]\nseeds = 3\n",
     "g.toml:2:1: unknown key 'seeds' in [graph] (did you mean 'seed'?)"},
    {"GraphNotATable", "graph = 3\n", "g.toml:1:9: graph: expected a table, got an integer"},
    {"NegativeSeed", "[graph]\nseed = -1\n",
     "g.toml:2:8: graph.seed: value -1 is out of range [0, 9223372036854775807]"},
    {"MissingOutputs", "[graph]\nseed = 1\n",
     "g.toml:1:1: missing required key 'outputs' at the top level (list the results: [outputs] "
     "names = [...])"},
    {"EmptyOutputs", "[outputs]\nnames = []\n",
     "g.toml:2:9: outputs.names: a graph needs at least one output"},
    {"UnknownOutput",
     kPrelude.substr(0, kPrelude.find("[outputs]")) + "[outputs]\nnames = [\"a\", \"zz\"]\n",
     "g.toml:9:15: outputs.names[1]: unknown tensor 'zz'"},
    {"UnknownOutputHint",
     kPrelude.substr(0, kPrelude.find("[outputs]")) + "[outputs]\nnames = [\"aa\"]\n",
     "g.toml:9:10: outputs.names[0]: unknown tensor 'aa' (did you mean 'a'?)"},
    {"DuplicateOutput",
     kPrelude.substr(0, kPrelude.find("[outputs]")) + "[outputs]\nnames = [\"a\", \"b\", \"a\"]\n",
     "g.toml:9:20: outputs.names[2]: output 'a' is listed twice"},
    {"UnknownOutputsKey", "[outputs]\nname = [\"a\"]\n",
     "g.toml:2:1: unknown key 'name' in [outputs] (did you mean 'names'?)"},
    // ---- tensors ----
    {"UnknownTensorKey", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacment = {tsp = 0}\n"),
     "g.toml:5:1: unknown key 'placment' in tensor[0] (did you mean 'placement'?)"},
    {"TensorMissingName", "[[tensor]]\nshape = [2]\n",
     "g.toml:1:1: tensor[0]: missing required key 'name' in tensor[0]"},
    {"TensorBadName", "[[tensor]]\nname = \"1x\"\n",
     "g.toml:2:8: tensor[0].name: tensor name '1x' is not an identifier (letters, digits and '_', "
     "not starting with a digit)"},
    {"DuplicateTensorName",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"zero\"}\n[[tensor]]\nname = \"t\"\n"),
     "g.toml:8:8: tensor[1].name: duplicate tensor name 't' (first declared at g.toml:1:1)"},
    {"MissingShape", with_tensor("dtype = \"fp16\"\n"),
     "g.toml:1:1: tensor[0]: missing required key 'shape' in tensor[0]"},
    {"EmptyShape", with_tensor("shape = []\n"),
     "g.toml:3:9: tensor[0].shape: expected an array of 1 to 4 integers, got 0"},
    {"RankFive", with_tensor("shape = [1, 2, 3, 4, 5]\n"),
     "g.toml:3:9: tensor[0].shape: expected an array of 1 to 4 integers, got 5"},
    {"ZeroDimension", with_tensor("shape = [4, 0]\n"),
     "g.toml:3:13: tensor[0].shape[1]: value 0 is out of range [1, 16777216]"},
    {"DimensionNotInteger", with_tensor("shape = [4, 2.5]\n"),
     "g.toml:3:13: tensor[0].shape[1]: expected an integer, got a floating-point number"},
    {"ShapeTooManyElements", with_tensor("shape = [16777216, 16777216, 16777216, 16777216]\n"),
     "g.toml:3:9: tensor[0].shape: shape [16777216, 16777216, 16777216, 16777216] has more than "
     "2^40 elements"},
    {"ReshapeTooManyElements",
     with_op("reshape", "[\"a\"]", "shape = [16777216, 16777216, 16777216, 16777216]\n"),
     "g.toml:14:9: op[0].shape: reshape of 'a' [4, 8] (32 elements) to [16777216, 16777216, "
     "16777216, 16777216] (more than 2^40 elements)"},
    {"ShapeNotArray", with_tensor("shape = 4\n"),
     "g.toml:3:9: tensor[0].shape: expected an array, got an integer"},
    {"UnknownDtype", with_tensor("shape = [2]\ndtype = \"float16\"\n"),
     "g.toml:4:9: tensor[0].dtype: unknown dtype 'float16' (int8, int16, int32, fp16, fp32)"},
    {"Uint8IsNotAGraphDtype", with_tensor("shape = [2]\ndtype = \"uint8\"\n"),
     "g.toml:4:9: tensor[0].dtype: unknown dtype 'uint8' (int8, int16, int32, fp16, fp32)"},
    {"InitWithoutPlacement",
     with_tensor("shape = [2]\ndtype = \"fp16\"\ninit = {recipe = \"zero\"}\n"),
     "g.toml:1:1: tensor[0]: missing required key 'placement' in tensor[0] (a tensor with init "
     "data needs one)"},
    {"TensorTooBigForSram",
     with_tensor("shape = [16384, 16384]\ndtype = \"fp32\"\nplacement = {tsp = 0}\n"),
     "g.toml:5:13: tensor[0].placement: tensor 't' needs 1024.0 MiB on each TSP, more than the "
     "220.0 MiB of SRAM a TSP has"},
    {"NoInitNoProducer", with_tensor("shape = [2]\ndtype = \"fp16\"\n"),
     "g.toml:1:1: tensor[0]: tensor 't' has no init data and no op produces it"},
    // ---- placements ----
    {"TspNotInTopology", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 9}\n"),
     "g.toml:5:20: tensor[0].placement.tsp: tsp 9 is not in topology 'node' (TSPs 0..7)"},
    {"NegativeTsp", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = -1}\n"),
     "g.toml:5:20: tensor[0].placement.tsp: tsp -1 is not in topology 'node' (TSPs 0..7)"},
    {"TspListElementNotInTopology",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsps = [0, 8]}\n"),
     "g.toml:5:25: tensor[0].placement.tsps[1]: tsp 8 is not in topology 'node' (TSPs 0..7)"},
    {"TspListNotAscending",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsps = [3, 1]}\n"),
     "g.toml:5:25: tensor[0].placement.tsps[1]: TSP ids must be strictly ascending (1 after 3)"},
    {"TspListRepeats", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsps = [1, 1]}\n"),
     "g.toml:5:25: tensor[0].placement.tsps[1]: TSP ids must be strictly ascending (1 after 1)"},
    {"TspListEmpty", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsps = []}\n"),
     "g.toml:5:21: tensor[0].placement.tsps: expected at least one TSP"},
    {"TspListNotIntegers",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsps = [0, \"1\"]}\n"),
     "g.toml:5:25: tensor[0].placement.tsps[1]: expected an integer, got a string"},
    {"TspRangeBeyondTopology",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsps = \"0..8\"}\n"),
     "g.toml:5:21: tensor[0].placement.tsps: tsp 8 is not in topology 'node' (TSPs 0..7)"},
    {"TspRangeMalformed",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsps = \"0-7\"}\n"),
     "g.toml:5:21: tensor[0].placement.tsps: expected an array of TSP ids or a range "
     "\"first..last\", got \"0-7\""},
    {"TspRangeEmpty", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsps = \"5..2\"}\n"),
     "g.toml:5:21: tensor[0].placement.tsps: empty TSP range \"5..2\" (first > last)"},
    {"TspsWrongType", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsps = 3}\n"),
     "g.toml:5:21: tensor[0].placement.tsps: expected an array of TSP ids or a range "
     "\"first..last\", got an integer"},
    {"PlacementEmpty", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {}\n"),
     "g.toml:5:13: tensor[0].placement: a placement needs one of tsp, tsps, node, rack"},
    {"PlacementTwoWays",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0, node = 0}\n"),
     "g.toml:5:30: tensor[0].placement.node: 'node' cannot be combined with 'tsp': give one of "
     "tsp, tsps, node, rack"},
    {"PlacementUnknownKey",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0, split = 1}\n"),
     "g.toml:5:23: unknown key 'split' in tensor[0].placement"},
    {"NodeNotInTopology", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {node = 1}\n"),
     "g.toml:5:21: tensor[0].placement.node: node 1 is not in topology 'node' (nodes 0..0)"},
    {"RackNotInTopology", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {rack = 2}\n"),
     "g.toml:5:21: tensor[0].placement.rack: rack 2 is not in topology 'node' (racks 0..0)"},
    {"SplitNotDivisible",
     with_tensor(
         "shape = [4, 6]\ndtype = \"fp16\"\nplacement = {tsps = \"0..3\", split_axis = 1}\n"),
     "g.toml:5:42: tensor[0].placement.split_axis: dimension 1 (6) of shape [4, 6] is not "
     "divisible by the 4 TSPs it is split over"},
    {"SplitAxisBeyondRank",
     with_tensor(
         "shape = [4, 8]\ndtype = \"fp16\"\nplacement = {tsps = \"0..3\", split_axis = 2}\n"),
     "g.toml:5:42: tensor[0].placement.split_axis: value 2 is out of range [0, 1]"},
    {"SplitOnOneTsp",
     with_tensor("shape = [4, 8]\ndtype = \"fp16\"\nplacement = {tsp = 0, split_axis = 0}\n"),
     "g.toml:5:36: tensor[0].placement.split_axis: 'split_axis' needs a set of TSPs (tsps, node or "
     "rack), not one tsp"},
    {"PerTspOnOneTsp",
     with_tensor("shape = [4, 8]\ndtype = \"fp16\"\nplacement = {tsp = 0, per_tsp = true}\n"),
     "g.toml:5:33: tensor[0].placement.per_tsp: per_tsp = true needs a set of TSPs (tsps, node or "
     "rack), not one tsp"},
    {"SplitAndPerTsp",
     with_tensor("shape = [4, 8]\ndtype = \"fp16\"\nplacement = {node = 0, per_tsp = true, "
                 "split_axis = 0}\n"),
     "g.toml:5:53: tensor[0].placement.split_axis: 'split_axis' cannot be combined with per_tsp = "
     "true"},
    // ---- init ----
    {"InitEmpty", with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {}\n"),
     "g.toml:6:8: tensor[0].init: init needs exactly one of recipe, values, bits, file"},
    {"InitTwoWays",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {recipe = \"zero\", "
                 "values = [1, 2]}\n"),
     "g.toml:6:8: tensor[0].init: init needs exactly one of recipe, values, bits, file"},
    {"InitUnknownKey",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"uniform\", low = 1}\n"),
     "g.toml:6:29: unknown key 'low' in tensor[0].init (did you mean 'lo'?)"},
    {"UnknownRecipe",
     with_tensor(
         "shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {recipe = \"normal\"}\n"),
     "g.toml:6:18: tensor[0].init.recipe: unknown recipe 'normal' (uniform, zero)"},
    {"RecipeMissingHi",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"uniform\", lo = 1}\n"),
     "g.toml:6:8: tensor[0].init: missing required key 'hi' in tensor[0].init"},
    {"ZeroRecipeWithBounds",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {recipe = \"zero\", "
                 "lo = 1}\n"),
     "g.toml:6:31: tensor[0].init.lo: 'lo' belongs to recipe = \"uniform\""},
    {"IntegerBoundOutOfRange",
     with_tensor("shape = [2]\ndtype = \"int8\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"uniform\", lo = -200, hi = 5}\n"),
     "g.toml:6:34: tensor[0].init.lo: value -200 is out of range [-128, 127] for int8"},
    {"IntegerBoundNotInteger",
     with_tensor("shape = [2]\ndtype = \"int8\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"uniform\", lo = 1.5, hi = 5}\n"),
     "g.toml:6:34: tensor[0].init.lo: expected an integer for int8, got a floating-point number"},
    {"IntegerRangeEmpty",
     with_tensor("shape = [2]\ndtype = \"int16\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"uniform\", lo = 5, hi = 3}\n"),
     "g.toml:6:42: tensor[0].init.hi: empty range: lo = 5 > hi = 3"},
    {"FloatRangeEmpty",
     with_tensor("shape = [2]\ndtype = \"fp32\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"uniform\", lo = 1, hi = 1}\n"),
     "g.toml:6:42: tensor[0].init.hi: empty range: lo = 1 >= hi = 1"},
    {"FloatBoundBeyondFp16",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"uniform\", lo = 0, hi = 1e5}\n"),
     "g.toml:6:42: tensor[0].init.hi: value 100000 is outside the finite range of fp16 (+-65504)"},
    {"FloatBoundNotFinite",
     with_tensor("shape = [2]\ndtype = \"fp32\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"uniform\", lo = -inf, hi = 0}\n"),
     "g.toml:6:34: tensor[0].init.lo: value -inf is outside the finite range of fp32 "
     "(+-3.4028235e+38)"},
    {"FloatBoundNotANumber",
     with_tensor("shape = [2]\ndtype = \"fp32\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"uniform\", lo = \"0\", hi = 1}\n"),
     "g.toml:6:34: tensor[0].init.lo: expected a number, got a string"},
    {"NegativeRecipeSeed",
     with_tensor("shape = [2]\ndtype = \"fp32\"\nplacement = {tsp = 0}\ninit = {recipe = "
                 "\"uniform\", seed = -3, lo = 0, hi = 1}\n"),
     "g.toml:6:36: tensor[0].init.seed: value -3 is out of range [0, 9223372036854775807]"},
    {"SeedWithValues",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {values = [1, 2], "
                 "seed = 3}\n"),
     "g.toml:6:33: tensor[0].init.seed: 'seed' belongs to recipe = \"uniform\""},
    {"ValuesCount",
     with_tensor(
         "shape = [2, 2]\ndtype = \"int8\"\nplacement = {tsp = 0}\ninit = {values = [1, 2, 3]}\n"),
     "g.toml:6:18: tensor[0].init.values: expected 4 values for [2, 2] int8, got 3"},
    {"PerTspValuesCount",
     with_tensor("shape = [2, 2]\ndtype = \"int8\"\nplacement = {tsps = [0, 1], per_tsp = "
                 "true}\ninit = {values = [1, 2, 3, 4]}\n"),
     "g.toml:6:18: tensor[0].init.values: expected 8 values for 2 TSPs x [2, 2] int8, got 4"},
    {"ValueOutOfRange",
     with_tensor(
         "shape = [2]\ndtype = \"int8\"\nplacement = {tsp = 0}\ninit = {values = [1, 200]}\n"),
     "g.toml:6:22: tensor[0].init.values[1]: value 200 is out of range [-128, 127] for int8"},
    {"FloatValueForInteger",
     with_tensor(
         "shape = [2]\ndtype = \"int32\"\nplacement = {tsp = 0}\ninit = {values = [1, 2.0]}\n"),
     "g.toml:6:22: tensor[0].init.values[1]: expected an integer for int32, got a floating-point "
     "number"},
    {"StringValue",
     with_tensor(
         "shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {values = [1, \"2\"]}\n"),
     "g.toml:6:22: tensor[0].init.values[1]: expected a number for fp16, got a string"},
    {"InexactIntegerValueForFloat",
     with_tensor("shape = [1]\ndtype = \"fp32\"\nplacement = {tsp = 0}\ninit = {values = "
                 "[9007199254740993]}\n"),
     "g.toml:6:19: tensor[0].init.values[0]: integer 9007199254740993 is not exact as a double: "
     "write it as a float"},
    {"BitsTooWide",
     with_tensor("shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {bits = [0x3c00, "
                 "0x10000]}\n"),
     "g.toml:6:25: tensor[0].init.bits[1]: bit pattern 65536 does not fit in fp16 (0x0..0xffff)"},
    {"NegativeBits",
     with_tensor("shape = [1]\ndtype = \"int8\"\nplacement = {tsp = 0}\ninit = {bits = [-1]}\n"),
     "g.toml:6:17: tensor[0].init.bits[0]: bit pattern -1 does not fit in int8 (0x0..0xff)"},
    {"MissingFile",
     with_tensor(
         "shape = [2]\ndtype = \"fp16\"\nplacement = {tsp = 0}\ninit = {file = \"nope.bin\"}\n"),
     "g.toml:6:16: tensor[0].init.file: cannot read init file 'nope.bin': No such file or "
     "directory"},
    // ---- op structure and names ----
    {"OpMissingKind", kPrelude + "[[op]]\ninputs = [\"a\"]\n",
     "g.toml:10:1: op[0]: missing required key 'kind' in op[0]"},
    {"OpKindNotString", kPrelude + "[[op]]\nkind = 3\n",
     "g.toml:11:8: op[0].kind: expected a string, got an integer"},
    {"UnknownOpKind", with_op("matmull", "[\"a\", \"b\"]"),
     "g.toml:11:8: op[0].kind: unknown op kind 'matmull' (did you mean 'matmul'?)"},
    {"SoftmaxIsNotAnOp", with_op("softmax", "[\"a\"]"),
     "g.toml:11:8: op[0].kind: unknown op kind 'softmax'"},
    {"UnknownOpKey", with_op("add", "[\"a\", \"a\"]", "axis = 1\n"),
     "g.toml:14:1: unknown key 'axis' in op[0] (add)"},
    {"OpMissingInputs", kPrelude + "[[op]]\nkind = \"neg\"\noutput = \"y\"\n",
     "g.toml:10:1: op[0]: missing required key 'inputs' in op[0] (neg)"},
    {"OpMissingOutput", kPrelude + "[[op]]\nkind = \"neg\"\ninputs = [\"a\"]\n",
     "g.toml:10:1: op[0]: missing required key 'output' in op[0] (neg)"},
    {"MatmulArity", with_op("matmul", "[\"a\"]"),
     "g.toml:12:10: op[0].inputs: matmul takes 2 inputs, got 1"},
    {"UnaryArity", with_op("exp", "[\"a\", \"b\"]"),
     "g.toml:12:10: op[0].inputs: exp takes 1 input, got 2"},
    {"ConcatArity", with_op("concat", "[\"a\"]", "axis = 0\n"),
     "g.toml:12:10: op[0].inputs: concat takes at least 2 inputs, got 1"},
    {"InputNotAString", with_op("neg", "[3]"),
     "g.toml:12:11: op[0].inputs[0]: expected a tensor name, got an integer"},
    {"UnknownInput", with_op("neg", "[\"q\"]"),
     "g.toml:12:11: op[0].inputs[0]: unknown tensor 'q'"},
    {"UnknownInputHint", with_op("neg", "[\"aa\"]"),
     "g.toml:12:11: op[0].inputs[0]: unknown tensor 'aa' (did you mean 'a'?)"},
    {"OutputBadName", with_op("neg", "[\"a\"]", "", "y-1"),
     "g.toml:13:10: op[0].output: tensor name 'y-1' is not an identifier (letters, digits and '_', "
     "not starting with a digit)"},
    {"OutputOverInitialData", with_op("neg", "[\"a\"]", "", "b"),
     "g.toml:13:10: op[0].output: tensor 'b' has init data (at g.toml:3:3), so no op may produce "
     "it"},
    {"OutputProducedTwice",
     with_op("neg", "[\"a\"]") + "[[op]]\nkind = \"abs\"\ninputs = [\"a\"]\noutput = \"y\"\n",
     "g.toml:17:10: op[1].output: tensor 'y' is already the output of op[0] (neg) at g.toml:10:1"},
    {"DuplicateOpName",
     with_op("neg", "[\"a\"]", "name = \"n\"\n") +
         "[[op]]\nname = \"n\"\nkind = \"abs\"\ninputs = [\"a\"]\noutput = \"z\"\n",
     "g.toml:16:8: op[1].name: duplicate op name 'n' (first used by op[0] (neg 'n') at "
     "g.toml:10:1)"},
    {"BadOpName", with_op("neg", "[\"a\"]", "name = \"two words\"\n"),
     "g.toml:14:8: op[0].name: op name 'two words' is not an identifier (letters, digits and '_', "
     "not starting with a digit)"},
    // ---- order and cycles ----
    {"UsedBeforeProduced",
     with_op("neg", "[\"z\"]") + "[[op]]\nkind = \"abs\"\ninputs = [\"a\"]\noutput = \"z\"\n",
     "g.toml:12:11: op[0].inputs[0]: tensor 'z' is used before op[1] (abs) at g.toml:14:1 produces "
     "it (ops run in file order: move this op after that one)"},
    {"Cycle",
     with_op("add", "[\"a\", \"h2\"]", "", "h1") +
         "[[op]]\nkind = \"neg\"\ninputs = [\"h1\"]\noutput = \"h2\"\n",
     "g.toml:12:16: op[0].inputs[1]: cycle: op[0] (add) needs 'h2' from op[1] (neg), which needs "
     "'h1' from op[0] (add)"},
    {"LongerCycle",
     with_op("neg", "[\"h3\"]", "", "h1") +
         "[[op]]\nkind = \"neg\"\ninputs = [\"h1\"]\noutput = \"h2\"\n[[op]]\nkind = "
         "\"neg\"\ninputs = [\"h2\"]\noutput = \"h3\"\n",
     "g.toml:12:11: op[0].inputs[0]: cycle: op[0] (neg) needs 'h3' from op[2] (neg), which needs "
     "'h2' from op[1] (neg), which needs 'h1' from op[0] (neg)"},
    {"OpReadsItsOwnOutput", with_op("neg", "[\"y\"]"),
     "g.toml:12:11: op[0].inputs[0]: cycle: op[0] (neg) needs 'y' from op[0] (neg)"},
    // ---- shapes, dtypes, placements of ops ----
    {"MatmulDtypes", with_op("matmul", "[\"a\", \"i\"]"),
     "g.toml:12:10: op[0].inputs: matmul takes int8 x int8 or fp16 x fp16, got fp16 x int8"},
    {"MatmulFp32",
     kPrelude + "[[op]]\nkind = \"cast\"\ninputs = [\"a\"]\noutput = \"f\"\ndtype = "
                "\"fp32\"\n[[op]]\nkind = \"matmul\"\ninputs = [\"f\", \"f\"]\noutput = \"y\"\n",
     "g.toml:17:10: op[1].inputs: matmul takes int8 x int8 or fp16 x fp16, got fp32 x fp32"},
    {"MatmulInnerDimensions", with_op("matmul", "[\"a\", \"c\"]"),
     "g.toml:12:10: op[0].inputs: matmul inner dimensions differ: 'a' is [4, 8], 'c' is [4, 2]"},
    {"MatmulRank",
     kPrelude + "[[op]]\nkind = \"reshape\"\ninputs = [\"a\"]\noutput = \"r\"\nshape = "
                "[32]\n[[op]]\nkind = \"matmul\"\ninputs = [\"r\", \"b\"]\noutput = \"y\"\n",
     "g.toml:17:10: op[1].inputs: matmul takes 2-D tensors; 'r' is [32]"},
    {"BinaryDtypes", with_op("add", "[\"a\", \"i\"]"),
     "g.toml:12:10: op[0].inputs: add of different dtypes: 'a' is fp16, 'i' is int8 (cast one "
     "first)"},
    {"BinaryBroadcast", with_op("mul", "[\"a\", \"c\"]"),
     "g.toml:12:10: op[0].inputs: mul shapes do not broadcast: 'a' is [4, 8], 'c' is [4, 2] "
     "(dimension 1: 8 vs 2)"},
    {"BinaryRanks",
     kPrelude + "[[op]]\nkind = \"reshape\"\ninputs = [\"a\"]\noutput = \"r\"\nshape = "
                "[32]\n[[op]]\nkind = \"sub\"\ninputs = [\"a\", \"r\"]\noutput = \"y\"\n",
     "g.toml:17:10: op[1].inputs: sub of different ranks: 'a' is [4, 8], 'r' is [32]"},
    {"SaturateOnFloat", with_op("add", "[\"a\", \"a\"]", "saturate = true\n"),
     "g.toml:14:12: op[0].saturate: saturate applies to integer dtypes; 'a' is fp16"},
    {"SaturateNotBoolean", with_op("add", "[\"i\", \"i\"]", "saturate = 1\n"),
     "g.toml:14:12: op[0].saturate: expected a boolean, got an integer"},
    {"TanhOfInt8", with_op("tanh", "[\"i\"]"),
     "g.toml:12:10: op[0].inputs: tanh does not support dtype int8 ('i'; it takes fp16, fp32)"},
    {"InputsOnDifferentTsps", with_op("add", "[\"a\", \"s\"]"),
     "g.toml:12:10: op[0].inputs: inputs are on different TSPs: 'a' on tsp 0, 's' on tsps 0, 1 "
     "split along axis 1"},
    {"CastMissingDtype", with_op("cast", "[\"a\"]"),
     "g.toml:10:1: op[0]: missing required key 'dtype' in op[0] (cast)"},
    {"CastUnknownDtype", with_op("cast", "[\"a\"]", "dtype = \"bf16\"\n"),
     "g.toml:14:9: op[0].dtype: unknown dtype 'bf16' (int8, int16, int32, fp16, fp32)"},
    {"CastToItsOwnDtype", with_op("cast", "[\"a\"]", "dtype = \"fp16\"\n"),
     "g.toml:14:9: op[0].dtype: cast to fp16, which 'a' already is"},
    {"CastSaturateFromFloat", with_op("cast", "[\"a\"]", "dtype = \"int8\"\nsaturate = true\n"),
     "g.toml:15:12: op[0].saturate: saturate applies to integer-to-integer casts; this casts fp16 "
     "to int8 (float-to-integer casts always saturate)"},
    {"ReduceMissingOp", with_op("reduce", "[\"a\"]", "axis = 0\n"),
     "g.toml:10:1: op[0]: missing required key 'op' in op[0] (reduce)"},
    {"ReduceUnknownOp", with_op("reduce", "[\"a\"]", "op = \"mean\"\naxis = 0\n"),
     "g.toml:14:6: op[0].op: unknown reduction 'mean' (sum, max, min)"},
    {"ReduceMissingAxis", with_op("reduce", "[\"a\"]", "op = \"sum\"\n"),
     "g.toml:10:1: op[0]: missing required key 'axis' in op[0] (reduce)"},
    {"ReduceAxisBeyondRank", with_op("reduce", "[\"a\"]", "op = \"sum\"\naxis = 2\n"),
     "g.toml:15:8: op[0].axis: axis 2 is out of range for 'a' [4, 8] (0..1)"},
    {"ReduceSaturateWithMax",
     with_op("reduce", "[\"i\"]", "op = \"max\"\naxis = 0\nsaturate = true\n"),
     "g.toml:16:12: op[0].saturate: saturate applies to op = \"sum\""},
    {"TransposeBadPerm", with_op("transpose", "[\"a\"]", "perm = [0, 0]\n"),
     "g.toml:14:8: op[0].perm: perm [0, 0] must list each axis of 'a' [4, 8] once (0..1)"},
    {"TransposePermTooShort", with_op("transpose", "[\"a\"]", "perm = [0]\n"),
     "g.toml:14:8: op[0].perm: perm [0] must list each axis of 'a' [4, 8] once (0..1)"},
    {"ReshapeElementCount", with_op("reshape", "[\"a\"]", "shape = [5, 5]\n"),
     "g.toml:14:9: op[0].shape: reshape of 'a' [4, 8] (32 elements) to [5, 5] (25 elements)"},
    {"ReshapeOfSplit", with_op("reshape", "[\"s\"]", "shape = [32]\n"),
     "g.toml:12:10: op[0].inputs: reshape of 's', which is split along axis 1 over 2 TSPs: "
     "all_gather it first"},
    {"SliceEmpty", with_op("slice", "[\"a\"]", "axis = 1\nstart = 3\nend = 3\n"),
     "g.toml:16:7: op[0].end: slice [3, 3) is not a non-empty range within dimension 1 (8) of 'a' "
     "[4, 8]"},
    {"SliceBeyondDimension", with_op("slice", "[\"a\"]", "axis = 1\nstart = 0\nend = 9\n"),
     "g.toml:16:7: op[0].end: slice [0, 9) is not a non-empty range within dimension 1 (8) of 'a' "
     "[4, 8]"},
    {"SliceMissingEnd", with_op("slice", "[\"a\"]", "axis = 1\nstart = 0\n"),
     "g.toml:10:1: op[0]: missing required key 'end' in op[0] (slice)"},
    {"ConcatMismatch", with_op("concat", "[\"a\", \"c\"]", "axis = 0\n"),
     "g.toml:12:10: op[0].inputs: concat along axis 0 needs equal other dimensions: 'a' is [4, 8], "
     "'c' is [4, 2]"},
    {"ConcatDtypes", with_op("concat", "[\"a\", \"i\"]", "axis = 0\n"),
     "g.toml:12:10: op[0].inputs: concat of different dtypes: 'a' is fp16, 'i' is int8 (cast one "
     "first)"},
    // ---- collectives ----
    {"ReduceScatterNotDivisible",
     with_op("slice", "[\"s\"]", "axis = 0\nstart = 0\nend = 3\n", "s3") +
         "[[op]]\nkind = \"reduce_scatter\"\ninputs = [\"s3\"]\noutput = \"y\"\naxis = 0\n",
     "g.toml:21:8: op[1].axis: dimension 0 (3) of 's3' [3, 4] is not divisible by its 2 TSPs"},
    {"ReduceScatterMissingAxis", with_op("reduce_scatter", "[\"s\"]"),
     "g.toml:10:1: op[0]: missing required key 'axis' in op[0] (reduce_scatter)"},
    {"AllReduceUnknownOp", with_op("all_reduce", "[\"s\"]", "op = \"prod\"\n"),
     "g.toml:14:6: op[0].op: unknown reduction 'prod' (sum, max, min)"},
    {"AllReduceSaturateFloat", with_op("all_reduce", "[\"s\"]", "saturate = true\n"),
     "g.toml:14:12: op[0].saturate: saturate applies to integer dtypes; 's' is fp16"},
    {"AllGatherAxis", with_op("all_gather", "[\"s\"]", "axis = 5\n"),
     "g.toml:14:8: op[0].axis: axis 5 is out of range for 's' [4, 4] (0..1)"},
    {"BroadcastOfASplitTensor", with_op("broadcast", "[\"s\"]", "to = [2, 3]\n"),
     "g.toml:12:10: op[0].inputs: broadcast takes a tensor on one TSP or replicated; 's' is on "
     "tsps 0, 1 split along axis 1"},
    {"BroadcastMissingTo", with_op("broadcast", "[\"a\"]"),
     "g.toml:10:1: op[0]: missing required key 'to' in op[0] (broadcast)"},
    {"BroadcastToMissingTsp", with_op("broadcast", "[\"a\"]", "to = [1, 12]\n"),
     "g.toml:14:10: op[0].to[1]: tsp 12 is not in topology 'node' (TSPs 0..7)"},
    {"SendToItself", with_op("send", "[\"a\"]", "to = 0\n"),
     "g.toml:14:6: op[0].to: 'a' is already on tsp 0"},
    {"SendOfAReplicatedTensorToOneOfItsTsps",
     "tensor = [{name = \"r\", shape = [1, 4], dtype = \"fp16\", placement = {tsps = [0, 1]}, "
     "init = {recipe = \"zero\"}}]\n[outputs]\nnames = [\"r\"]\n[[op]]\nkind = \"send\"\n"
     "inputs = [\"r\"]\noutput = \"y\"\nto = 1\n",
     "g.toml:8:6: op[0].to: 'r' is already on tsp 1"},
    {"SendOfPerTspValues",
     "tensor = [{name = \"r\", shape = [1, 4], dtype = \"fp16\", placement = {tsps = [0, 1], "
     "per_tsp = true}, init = {recipe = \"zero\"}}]\n[outputs]\nnames = [\"r\"]\n[[op]]\n"
     "kind = \"send\"\ninputs = [\"r\"]\noutput = \"y\"\nto = 3\n",
     "g.toml:6:10: op[0].inputs: send takes a tensor on one TSP or replicated; 'r' is on tsps 0, 1 "
     "(per-TSP values)"},
    {"SendToMissingTsp", with_op("send", "[\"a\"]", "to = 8\n"),
     "g.toml:14:6: op[0].to: tsp 8 is not in topology 'node' (TSPs 0..7)"},
    {"SendToAList", with_op("send", "[\"a\"]", "to = [1]\n"),
     "g.toml:14:6: op[0].to: expected an integer, got an array"},
    // ---- declared computed tensors ----
    {"DeclaredShapeDiffers", kDeclared + "shape = [4, 3]\ndtype = \"fp32\"\n" + kMatmulOp,
     "g.toml:20:10: op[0].output: op[0] (matmul) produces [4, 2] fp32 but tensor 'y' is declared "
     "[4, 3] fp32 at g.toml:13:1"},
    {"DeclaredDtypeDiffers", kDeclared + "shape = [4, 2]\ndtype = \"int32\"\n" + kMatmulOp,
     "g.toml:20:10: op[0].output: op[0] (matmul) produces [4, 2] fp32 but tensor 'y' is declared "
     "[4, 2] int32 at g.toml:13:1"},
    {"DeclaredPlacementDiffers",
     kDeclared + "shape = [4, 2]\ndtype = \"fp32\"\nplacement = {tsp = 1}\n" + kMatmulOp,
     "g.toml:21:10: op[0].output: op[0] (matmul) produces 'y' on tsp 0 but it is declared on tsp 1 "
     "at g.toml:13:1"},
};

class GraphErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(GraphErrors, ExactLocatedMessage) {
  const BadCase& c = GetParam();
  const std::string actual = test::load_error(c.text);
  if (std::getenv("TSPEMU_PRINT_ERRORS") != nullptr) {
    std::printf("%s\t%s\n", c.name, actual.c_str());
  }
  EXPECT_EQ(actual, c.expected);
}

INSTANTIATE_TEST_SUITE_P(All, GraphErrors, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& case_info) {
                           return std::string(case_info.param.name);
                         });

}  // namespace
}  // namespace tspemu
