import Testing
import UTC

@Suite struct CivilTimeTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (951_782_400, "2000-02-29T00:00:00.000Z"),
        (1_795_824_000, "2026-11-28T00:00:00.000Z"),
        (4_107_542_399, "2100-02-28T23:59:59.000Z"),
        (-1, "1969-12-31T23:59:59.000Z"),
        (-62_135_596_800, "0001-01-01T00:00:00.000Z"),
    ])
    func formatsUTC(_ seconds: Int64, _ expected: String) {
        #expect(CivilTime.iso8601(seconds: seconds, milliseconds: 0) == expected)
    }

    @Test func roundTripsEveryDayOfFourCenturies() {
        var seconds: Int64 = -2_208_988_800  // 1900-01-01
        while seconds < 10_413_792_000 {  // 2300-01-01
            let fields = CivilTime(seconds: seconds + 45_296)
            #expect(fields.secondsSinceEpoch == seconds + 45_296)
            seconds += 86_400
        }
    }

    @Test func pads() {
        #expect(CivilTime.pad(7, 3) == "007")
        #expect(CivilTime.pad(-7, 2) == "-07")
        #expect(CivilTime.pad(12345, 2) == "12345")
    }
}
