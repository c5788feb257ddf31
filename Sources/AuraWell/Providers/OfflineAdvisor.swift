/// The offline provider's advice: general, safe, and labelled as offline. Chosen by keywords in
/// the question (Chinese and English), always the same answer for the same question.
enum OfflineAdvisor {
    static let label = "【离线模式】AuraWell 当前未连接 AI 服务，以下是内置的通用健康建议，仅供参考，不能替代医生的诊断。\n"

    private static let topics: [(keywords: [String], advice: String)] = [
        (["睡", "失眠", "sleep", "insomnia"],
         "关于睡眠：尽量每天固定时间上床和起床，睡前一小时远离手机等屏幕，卧室保持安静、黑暗、凉爽；下午之后少喝咖啡和浓茶。成年人一般需要 7 到 9 小时睡眠。\n"),
        (["累", "疲劳", "疲惫", "乏力", "tired", "fatigue"],
         "关于疲劳：先检查睡眠是否充足、规律，三餐是否按时并包含蛋白质和蔬果，白天适量活动和晒太阳。如果疲劳持续两周以上或伴随体重下降、发热等，请就医检查。\n"),
        (["压力", "焦虑", "情绪", "心情", "stress", "anxious", "anxiety", "mood"],
         "关于压力和情绪：试试每天 10 分钟的深呼吸或散步，把担心的事写下来并拆成小步骤，和信任的人聊一聊。如果情绪低落影响到日常生活，请寻求心理咨询或医生的帮助。\n"),
        (["运动", "锻炼", "exercise", "workout", "activity"],
         "关于运动：每周累计约 150 分钟中等强度的有氧运动（如快走、骑车），再加两次力量训练；从小量开始，循序渐进，运动前后做好热身和拉伸。\n"),
        (["饮食", "吃", "营养", "diet", "food", "eat"],
         "关于饮食：三餐规律，多吃蔬菜、水果、全谷物和优质蛋白，少吃高盐、高糖和油炸食品，每天喝足够的水。\n"),
        (["头痛", "头疼", "headache"],
         "关于头痛：注意休息、补充水分，减少屏幕时间，观察是否与睡眠不足或压力有关。若头痛突然剧烈、伴随呕吐、视物模糊或肢体无力，请立即就医。\n"),
    ]

    private static let general =
        "一般建议：保持规律作息，均衡饮食，适量运动，保持良好心态，定期体检。如有持续或加重的不适，请及时就医。\n"

    static func answer(to question: String) -> String {
        let lowered = question.lowercased()
        var answer = label
        var matched = false
        for topic in topics where topic.keywords.contains(where: { lowered.contains($0) }) {
            answer += topic.advice
            matched = true
        }
        if !matched { answer += general }
        return answer
    }
}
