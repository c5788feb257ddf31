import CLinux

/// Turns a client's question into the model's messages: the persona, the member's profile, the
/// context fields, the conversation so far, and the question. Also screens for emergencies.
enum HealthAdviceService {
    enum Kind {
        case health
        case general
    }

    static let healthPersona = """
        你是 AuraWell 健康助手，一位细心、负责的健康顾问。你不是医生，不做诊断，不开处方。\
        请根据用户提供的情况给出具体、可执行、循证的生活方式建议，语言简洁温和；\
        当症状可能严重或持续时，明确建议就医；遇到紧急情况，首先建议拨打 120 或当地急救电话。
        """

    static let generalPersona = """
        你是 AuraWell 健康助手。请友好、简洁地回答用户的问题；涉及健康时提醒你不是医生，必要时建议就医。
        """

    /// The messages for the model, oldest first.
    static func messages(
        kind: Kind, question: String, context: JSONValue?, member: FamilyMember?, userID: String,
        history: [ChatMessage]
    ) -> [ChatMessage] {
        var system = kind == .health ? healthPersona : generalPersona
        if kind == .health {
            if let member { system += "\n\n" + describe(member, userID: userID) }
            if let context = context?.objectValue, !context.isEmpty { system += "\n\n" + describe(context: context) }
        }
        return [ChatMessage(role: "system", content: system)] + history + [ChatMessage(role: "user", content: question)]
    }

    static func describe(_ member: FamilyMember, userID: String) -> String {
        var lines = [member.memberID == userID
            ? "咨询对象：用户本人（\(member.displayName)）。"
            : "咨询对象：用户的家庭成员 \(member.displayName)（\(member.memberID)）。"]
        let profile = member.profile
        if let age = profile.age { lines.append("年龄：\(age)") }
        if let sex = profile.sex { lines.append("性别：\(sex)") }
        if !profile.conditions.isEmpty { lines.append("已知疾病：\(profile.conditions.joined(separator: "、"))") }
        if !profile.medications.isEmpty { lines.append("正在用药：\(profile.medications.joined(separator: "、"))") }
        if !profile.allergies.isEmpty { lines.append("过敏：\(profile.allergies.joined(separator: "、"))") }
        return lines.joined(separator: "\n")
    }

    /// The context fields as the model sees them; known fields get their Chinese names.
    static func describe(context: [String: JSONValue]) -> String {
        let names = ["mood": "情绪", "sleep_hours": "睡眠时长（小时）", "activity_level": "活动水平"]
        var lines = ["用户当前情况："]
        for key in context.keys.sorted() {
            guard let value = context[key] else { continue }
            let text = value.stringValue ?? value.serialized()
            lines.append("- \(names[key] ?? key)：\(text)")
        }
        return lines.joined(separator: "\n")
    }

    // MARK: Red flags

    static let emergencyNotice = """
        ⚠️ 紧急提醒：您描述的情况可能是急症。请立即拨打 120（或当地急救电话），或尽快前往最近的医院急诊；\
        如有轻生念头，请立即联系身边的人或拨打心理援助热线（如 400-161-9995）。在等待救助时不要独自一人。
        ⚠️ Emergency: this may be a medical emergency. Call 120 or your local emergency number now.

        """

    /// Each entry is a set of alternatives that must all be present (one of each group).
    /// Kept as UTF-8 bytes: the check runs on every chat, and byte search is far cheaper than
    /// String's Unicode-aware `contains`.
    private static let redFlags: [[[[UInt8]]]] = [
        // Chest pain with breathlessness.
        [["胸痛", "胸口痛", "胸闷", "chest pain", "chest tightness"],
         ["呼吸困难", "喘不过气", "气短", "呼吸急促", "shortness of breath", "can't breathe", "cannot breathe", "breathless"]],
        // Stroke signs.
        [["口角歪斜", "嘴歪", "半身不遂", "一侧肢体无力", "说话含糊", "言语不清", "face drooping", "slurred speech", "stroke", "中风"]],
        // Suicidal thoughts.
        [["自杀", "轻生", "不想活", "结束生命", "想死", "suicide", "suicidal", "kill myself", "end my life"]],
        // Severe bleeding.
        [["大出血", "血流不止", "止不住血", "大量出血", "severe bleeding", "bleeding heavily", "won't stop bleeding"]],
        // Poisoning.
        [["中毒", "误服", "吞下了", "农药", "overdose", "poisoning", "poisoned", "swallowed bleach"]],
    ].map { flag in flag.map { group in group.map { Array($0.utf8) } } }

    /// The fixed safety notice when the question describes an emergency, else nil.
    static func emergencyNotice(for question: String) -> String? {
        // ASCII lower-casing is enough: the English phrases are ASCII, Chinese has no case.
        let text = question.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
        for flag in redFlags where flag.allSatisfy({ group in group.contains { contains(text, $0) } }) {
            return emergencyNotice
        }
        return nil
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        haystack.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in clinux_memmem(h.baseAddress, h.count, n.baseAddress, n.count) != nil }
        }
    }
}
