package dev.rollout.tokenizer.template;

import java.time.LocalDateTime;

/**
 * Python's {@code datetime.strftime(format)} for the directives chat templates use, in the C locale (English month
 * and day names, AM/PM). A directive outside this set is an error naming it rather than text Python would not write.
 */
final class PythonStrftime {
    static final String SUPPORTED = "%d %m %Y %y %b %B %a %A %H %M %S %I %p %j %%";
    /** The C locale's names, spelled out: Java's locale data varies by version ("Sep" or "Sept"). */
    private static final String[] MONTHS = {"January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December"};
    private static final String[] DAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

    private PythonStrftime() {
    }

    static String format(LocalDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (i + 1 == format.length()) {
                throw new IllegalArgumentException("strftime format '" + format + "' ends with a lone '%'");
            }
            char directive = format.charAt(++i);
            out.append(switch (directive) {
                case 'd' -> twoDigits(t.getDayOfMonth());
                case 'm' -> twoDigits(t.getMonthValue());
                case 'Y' -> String.valueOf(t.getYear());
                case 'y' -> twoDigits(Math.floorMod(t.getYear(), 100));
                case 'b' -> MONTHS[t.getMonthValue() - 1].substring(0, 3);
                case 'B' -> MONTHS[t.getMonthValue() - 1];
                case 'a' -> DAYS[t.getDayOfWeek().getValue() - 1].substring(0, 3);
                case 'A' -> DAYS[t.getDayOfWeek().getValue() - 1];
                case 'H' -> twoDigits(t.getHour());
                case 'M' -> twoDigits(t.getMinute());
                case 'S' -> twoDigits(t.getSecond());
                case 'I' -> twoDigits(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12);
                case 'p' -> t.getHour() < 12 ? "AM" : "PM";
                case 'j' -> String.format("%03d", t.getDayOfYear());
                case '%' -> "%";
                default -> throw new IllegalArgumentException("strftime directive %" + directive + " (in '" + format
                        + "') is not supported; supported: " + SUPPORTED);
            });
        }
        return out.toString();
    }

    private static String twoDigits(int n) {
        return n < 10 ? "0" + n : String.valueOf(n);
    }
}
