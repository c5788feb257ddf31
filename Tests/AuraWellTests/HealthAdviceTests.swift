import Testing
@testable import AuraWell

/// The red-flag screen and the prompt, without sockets.
@Suite struct HealthAdviceTests {
    @Test(arguments: [
        ("我胸痛，而且呼吸困难", true),
        ("I have CHEST PAIN and Shortness of Breath", true),
        ("胸痛", false),  // one sign alone is not the emergency pattern
        ("爷爷突然口角歪斜，说话含糊", true),
        ("I want to kill myself", true),
        ("孩子误服了药", true),
        ("伤口血流不止", true),
        ("最近睡不好，很累", false),
        ("How do I improve my sleep?", false),
    ])
    func emergenciesGetTheSafetyNotice(question: String, emergency: Bool) {
        let notice = HealthAdviceService.emergencyNotice(for: question)
        #expect((notice != nil) == emergency)
        if let notice { #expect(notice.contains("120")) }
    }

    @Test func thePromptCarriesPersonaMemberContextAndHistory() throws {
        let member = FamilyMember(
            userID: "u1", memberID: "grandma", displayName: "奶奶",
            profile: MemberProfile(age: 78, conditions: ["高血压"], medications: ["氨氯地平"], allergies: ["青霉素"]))
        let context = try JSONValue.parse(#"{"mood": "tired", "sleep_hours": 5.5, "activity_level": "low"}"#)
        let history = [ChatMessage(role: "user", content: "之前的问题"), ChatMessage(role: "assistant", content: "之前的回答")]
        let messages = HealthAdviceService.messages(
            kind: .health, question: "头晕怎么办", context: context, member: member, userID: "u1", history: history)
        #expect(messages.map(\.role) == ["system", "user", "assistant", "user"])
        let system = messages[0].content
        for expected in ["不是医生", "奶奶", "78", "高血压", "氨氯地平", "青霉素", "情绪：tired", "睡眠时长（小时）：5.5", "活动水平：low"] {
            #expect(system.contains(expected), "system prompt lacks \(expected)")
        }
        #expect(messages.last?.content == "头晕怎么办")
        let general = HealthAdviceService.messages(kind: .general, question: "你好", context: context, member: member, userID: "u1", history: [])
        #expect(!general[0].content.contains("奶奶"), "general chat carries no health profile")
    }
}
