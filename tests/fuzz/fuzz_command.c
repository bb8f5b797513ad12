/* fuzz_command.c - libFuzzer harness for command lines (src/common/command.c).
 *
 * The input is one chat line. After each input it checks command.h's contract: the line is
 * a command exactly when it starts with a single '/', a message then unescapes to itself
 * or to itself less one '/', everything returned lies within the line, the name holds no
 * blank and only blanks separate it from the arguments, which run to the end of the line.
 * Then command_next_word() is looped over the arguments (over the whole line for a
 * message): each word is a maximal run of non-blanks with only blanks before it, the loop
 * ends and consumes everything, and it finds as many words as an independent count.
 * libFuzzer hands the input in a buffer of exactly its size, so ASan sees any over-read.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True if s[0..len) is all blanks (true for len 0). */
static bool all_blanks(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!command_is_blank(s[i])) {
            return false;
        }
    }
    return true;
}

/* The number of maximal runs of non-blank bytes in s[0..len), counted without command.c. */
static size_t count_words(const char *s, size_t len)
{
    size_t words = 0;
    for (size_t i = 0; i < len; i++) {
        bool blank = s[i] == ' ' || s[i] == '\t';
        bool after_blank = i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t';
        if (!blank && after_blank) {
            words++;
        }
    }
    return words;
}

/* Loops command_next_word() over args[0..len), which ends at end, checking each step. */
static void check_words(const char *args, size_t len, const char *end)
{
    assert(args + len == end);
    size_t expected = count_words(args, len);
    size_t words = 0;
    const char *word;
    size_t word_len;
    for (;;) {
        const char *before = args;
        size_t before_len = len;
        if (!command_next_word(&args, &len, &word, &word_len)) {
            assert(all_blanks(before, before_len));
            assert(len == 0 && args == end);
            break;
        }
        assert(++words <= expected);
        assert(word >= before && word_len >= 1 && word + word_len <= end);
        assert(all_blanks(before, (size_t)(word - before)));
        assert(!command_is_blank(word[0]));
        assert(!memchr(word, ' ', word_len) && !memchr(word, '\t', word_len));
        assert(word + word_len == end || command_is_blank(word[word_len]));
        assert(args >= word + word_len && args + len == end);
        assert(all_blanks(word + word_len, (size_t)(args - (word + word_len))));
        assert(len == 0 || !command_is_blank(args[0]));
        assert(len < before_len); /* progress: the loop ends */
    }
    assert(words == expected);
}

static void check_message(const char *line, size_t len)
{
    const char *text = line;
    size_t text_len = len;
    command_unescape(&text, &text_len);
    bool escaped = len >= 2 && line[0] == '/' && line[1] == '/';
    assert(text == line + escaped && text_len == len - escaped);
    check_words(line, len, line + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    const char *end = line + size;
    struct command_line cmd;
    bool is_command = command_split(line, size, &cmd);
    assert(is_command == (size >= 1 && line[0] == '/' && (size == 1 || line[1] != '/')));
    if (!is_command) {
        check_message(line, size);
        return 0;
    }
    assert(cmd.name == line + 1 && cmd.name + cmd.name_len <= end);
    assert(!memchr(cmd.name, ' ', cmd.name_len) && !memchr(cmd.name, '\t', cmd.name_len));
    assert(cmd.args >= cmd.name + cmd.name_len && cmd.args + cmd.args_len == end);
    assert(cmd.name + cmd.name_len == end || command_is_blank(cmd.name[cmd.name_len]));
    assert(all_blanks(cmd.name + cmd.name_len, (size_t)(cmd.args - (cmd.name + cmd.name_len))));
    assert(cmd.args_len == 0 || !command_is_blank(cmd.args[0]));
    assert(cmd.name_len + cmd.args_len < size);

    /* A command line is left alone by command_unescape(). */
    const char *text = line;
    size_t text_len = size;
    command_unescape(&text, &text_len);
    assert(text == line && text_len == size);

    check_words(cmd.args, cmd.args_len, end);
    return 0;
}
