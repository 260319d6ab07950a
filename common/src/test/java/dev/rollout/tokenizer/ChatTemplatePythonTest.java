package dev.rollout.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rollout.tokenizer.template.ChatTemplate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Python constructs of Jinja2 that chat templates use, one tiny template each. Every expected string is what
 * Jinja2 3.1 renders for the same template and variables (an ImmutableSandboxedEnvironment with trim_blocks and
 * lstrip_blocks, tojson as transformers defines it).
 */
class ChatTemplatePythonTest {
    private static final Map<String, Object> VARIABLES = Map.of(
            "text", "<think>\nplan\n</think>\n\nanswer",
            "items", List.of("a", "b", "c", "d"),
            "yes", true,
            "no", false);

    private static String render(String template) {
        return new ChatTemplate(template, Map.of()).render(List.of(), false, VARIABLES);
    }

    @Test
    void startswithAndEndswithTakeAStringOrATuple() {
        assertEquals("yes yes no", render("{{ 'yes' if text.startswith('<think>') else 'no' }} "
                + "{{ 'yes' if text.endswith(('x', 'answer')) else 'no' }} "
                + "{{ 'yes' if text.startswith('answer') else 'no' }}"));
    }

    @Test
    void splitOnASeparatorKeepsEmptyPartsAtTheEnds() {
        assertEquals("2 ['a', ''] ['', 'b']",
                render("{{ text.split('</think>')|length }} {{ 'a</think>'.split('</think>') }} {{ '.b'.split('.') }}"));
    }

    @Test
    void splitWithoutSeparatorSplitsOnRunsOfWhitespaceAndMaxsplitLimitsTheParts() {
        assertEquals("['a', 'b', 'c'] ['a', 'b,c']", render("{{ '  a b\\t c  '.split() }} {{ 'a,b,c'.split(',', 1) }}"));
    }

    @Test
    void thinkingIsSeparatedFromTheAnswerAsQwenTemplatesDo() {
        assertEquals("[plan|answer]", render("[{{ text.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}"
                + "|{{ text.split('</think>')[-1].lstrip('\\n') }}]"));
    }

    @Test
    void stripFamilyStripsTheGivenCharactersOrWhitespace() {
        assertEquals("[x|x--|--x|x]", render("[{{ '\\n\\nx\\n'.strip('\\n') }}|{{ '--x--'.lstrip('-') }}"
                + "|{{ '--x--'.rstrip('-') }}|{{ ' \\t x \\n'.strip() }}]"));
    }

    @Test
    void caseMethodsFollowPython() {
        assertEquals("HELLO hello Hello World, 2Nd Try",
                render("{{ 'Hello'.upper() }} {{ 'Hello'.lower() }} {{ 'hello wORLD, 2nd try'.title() }}"));
    }

    @Test
    void replaceReplacesEveryOccurrenceOrTheFirstCount() {
        assertEquals("tell me bba", render("{{ '/no_think tell me'.replace('/no_think', '').lstrip() }} {{ 'aaa'.replace('a', 'b', 2) }}"));
    }

    @Test
    void listsSliceWithNegativeIndicesAndSteps() {
        assertEquals("['d', 'c', 'b', 'a'] ['b', 'c', 'd'] d ['a', 'c'] ['a', 'b'] ['b', 'c']",
                render("{{ items[::-1] }} {{ items[1:] }} {{ items[-1] }} {{ items[::2] }} {{ items[-100:2] }} {{ items[1:-1] }}"));
    }

    @Test
    void stringsSliceAndIndexByCharacter() {
        assertEquals("answer rewsna < é", render("{{ text[-6:] }} {{ text[::-1][:6] }} {{ text[0] }} {{ 'café'[-1] }}"));
    }

    @Test
    void reversedLoopSeesTheMessagesLastFirst() {
        assertEquals("0d 1c 2b 3a ", render("{% for item in items[::-1] %}{{ loop.index0 }}{{ item }} {% endfor %}"));
    }

    @Test
    void namespaceAttributesSetInALoopOutliveIt() {
        assertEquals("found 2", render("{% set ns = namespace(found=false, index=-1) %}{% for item in items %}"
                + "{% if item == 'c' %}{% set ns.found = true %}{% set ns.index = loop.index0 %}{% endif %}{% endfor %}"
                + "{{ 'found' if ns.found else 'missing' }} {{ ns.index }}"));
    }

    @Test
    void testsForStringDefinedAndNone() {
        assertEquals("string list undefined defined none set", render("{{ 'string' if text is string }} "
                + "{{ 'string' if items is string else 'list' }} {{ 'defined' if missing is defined else 'undefined' }} "
                + "{{ 'defined' if text is defined }} {{ 'none' if nothing is none }} {{ 'set' if text is not none }}"));
    }

    @Test
    void tojsonWritesPythonSpacingAndKeepsNonAsciiText() {
        assertEquals("{\"name\": \"Zürich\", \"n\": [1, 2.5, null, true], \"q\": \"say \\\"hi\\\"\"}",
                render("{{ {'name': 'Zürich', 'n': [1, 2.5, none, true], 'q': 'say \"hi\"'} | tojson }}"));
    }

    @Test
    void tojsonIndentsLikePython() {
        assertEquals("{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}", render("{{ {'a': [1, {}], 'b': []} | tojson(indent=2) }}"));
    }

    @Test
    void keywordArgumentsTakeAWholeExpression() {
        assertEquals("3", render("{% set ns = namespace(last=items|length - 1) %}{{ ns.last }}"));
    }

    @Test
    void onlyIndentationBeforeABlockTagIsStripped() {
        assertEquals("a bc", render("a {% if true %}b{% endif %}\n    {% if true %}\nc{% endif %}"));
    }

    @Test
    void loopKnowsItsIndexAndEnds() {
        assertEquals("0aF 1b 2c 3dL ", render("{% for item in items %}{{ loop.index0 }}{{ item }}"
                + "{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %} {% endfor %}"));
    }

    @Test
    void booleansPrintAsPythonSpellsThem() {
        assertEquals("True False", render("{{ yes }} {{ no }}"));
    }

    @Test
    void printedListsAndDictsShowTheReprOfTheirItems() {
        assertEquals("['a', True, None, 1, 2.5] {'k': False, 'n': None} [[1, 'x'], {'a': [True]}]",
                render("{{ ['a', yes, none, 1, 2.5] }} {{ {'k': no, 'n': none} }} {{ [[1, 'x'], {'a': [true]}] }}"));
    }

    @Test
    void stringsInAPrintedListAreQuotedAndEscapedAsPythonReprDoes() {
        assertEquals("[\"it's\", 'say \"hi\"', 'a\\nb', 'back\\\\slash', 'both \\' \"']",
                render("{{ ['it\\'s', 'say \"hi\"', 'a\\nb', 'back\\\\slash', 'both \\' \"'] }}"));
    }

    @Test
    void floatsPrintAsPythonReprDoes() {
        assertEquals("[1.0, 1e+20, 1e-05, 0.1] 1e+20 2.5", render("{{ [1.0, 1e20, 1e-5, 0.1] }} {{ 1e20 }} {{ 2.5 }}"));
    }

    @Test
    void tojsonStillWritesJsonLiteralsAndTestsStillSeeBooleans() {
        assertEquals("true [true, null] yes no",
                render("{{ yes|tojson }} {{ [true, none]|tojson }} {{ 'yes' if yes else 'no' }} {{ 'yes' if no else 'no' }}"));
    }

    @Test
    void anUndefinedVariablePrintsNothing() {
        assertEquals("[]", render("[{{ missing }}]"));
    }

    @Test
    void aCommentsDashesTrimTheWhitespaceBesideIt() {
        assertEquals("ab", render("a\n{#- note -#}\n  b"));
    }
}
