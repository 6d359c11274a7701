/**
 * Word lists behind the PERSON and ADDRESS recognisers: Chinese surnames (the common entries of the Hundred
 * Family Surnames by present-day frequency, minus characters that are mostly function words), common English
 * given names and surnames (US SSA / Census frequency lists), honorifics, and the address vocabulary of both
 * languages. They are lists a product ships, not tuned to any corpus.
 */

/** Two-character surnames; matched before single ones. */
export const CN_COMPOUND_SURNAMES = new Set(
  (
    '欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 独孤 南宫 西门 ' +
    '百里 呼延 万俟 澹台 公冶 太史 申屠 闻人 赫连 拓跋 司空 东郭 濮阳 单于 左丘 谷梁 段干 闾丘'
  ).split(' '),
);

/**
 * Single-character surnames. Characters that are far more often a function word or verb than a name
 * (和, 由, 都, 来, 向, 应, 时 ...) are left out: a name recogniser that fires on them is unusable.
 */
export const CN_SURNAMES = new Set([
  ...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤温康施文牛樊葛邢齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕季裴霍涂苗谷盛曲翁冉骆蓝游辛靳管柴蒙鲍喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂佟臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥班储栗燕楚鄢劳谌奚皮粟冼蔺楼闻厉伊仝郜阚权帅屠豆朴盖练廉禹井祖漆巴丰卿狄晋芮扈晁浦戈伏鹿薄邸雍辜乌裘亓邰赫杭况宿逯隆茹诸战慕嵇亢湛戎勾茅於居揭尉冶檀昝幸奉衡闭萧洪华单贝竺路明向常',
]);

/**
 * Surnames of the Hundred Family Surnames (百家姓) that are also frequent words or word starts (水, 安, 时, 平,
 * 成, 强 ...): names with them are real (危老师, 满先生, 水经理) but rarer, so the model sees them as a separate
 * piece of evidence instead of trusting them as much as 王 or 陈.
 */
export const CN_RARE_SURNAMES = new Set([
  ...'危满水云昌凤花安时元平计成强支经干应宣贲钮滑荀羊羿汲邴糜松富弓牧隗山宓蓬全郗仰秋暴束韶蓟印怀鄂索咸籍赖阴能苍双莘贡逄扶堵宰郦璩濮寿通郏充习宦鱼容慎庾暨步弘禄阙殳沃蔚越夔厍融訾乜养须巢蒯相红益桓墨谯笪爱言福',
]);

/**
 * Titles, honorifics and role words written right after a name or a bare surname (王伟先生, 张先生, 陈总, 黄董,
 * 岑太). After a bare surname they make the surname a person mention; they are never part of the name's span.
 */
export const CN_NAME_TITLES = (
  '先生 女士 小姐 太太 夫人 总经理 总监 总裁 总 董事长 董 经理 主任 老师 医生 律师 教授 博士 专员 行长 处长 科长 ' +
  '局长 部长 主管 顾问 师傅 老板 阿姨 叔叔 同志 同学 会计 秘书 助理 工程师 工 太 姐 哥 某 生 sir ' +
  '奶奶 爷爷 大爷 大妈 大姐 大哥 大叔 阿婆 婆婆 伯伯 叔 伯 婶 嫂 姨 老太 主席 书记 校长 院长 警官 ' +
  '襄理 协理 理专 科员 股长 组长 队长 班长 站长 所长 厂长 店长 园长 馆长 社长 村长 乡长 镇长 县长 市长'
).split(' ');

/**
 * Brands, shops and places whose names start with a surname (周大福, 李宁, 黄浦江); never a person. In simplified
 * script, as findings are compared after conversion; 金鐘 in both, as the converter keeps 鐘 (鍾 is a surname).
 */
export const CN_BRANDS_AND_PLACES = (
  '周大福 周生生 周六福 谢瑞麟 李宁 王老吉 张小泉 马应龙 陈李济 杨国福 刘一手 周黑鸭 钱大妈 卫龙 金拱门 ' +
  '黄浦 黄埔 黄大仙 陆家嘴 徐家汇 罗湖 龙岗 龙华 金山 杨浦 静安 长宁 江北 江汉 洪山 岳麓 雁塔 鼓楼 秦淮 萧山 ' +
  '余杭 滨江 武侯 锦江 金牛 成华 越秀 荔湾 白云 沙田 屯门 元朗 荃湾 葵涌 西贡 柴湾 湾仔 铜锣湾 尖沙咀 旺角 ' +
  '红磡 上环 中环 金钟 金鐘 太古 鲗鱼涌 维多利亚 万达 万科 华润 华侨 华夏 华为 宁德 温哥华 吉隆坡 华盛顿 罗马 ' +
  '马德里 马尼拉 马来西亚 新加坡 雅加达 胡志明 曼谷 伦敦 巴塞罗那 柏林 米兰 悉尼 墨尔本 ' +
  '王府井 张江 漕河泾 陆家嘴 蛇口 宝安 南山 福田 罗湖 海淀 朝阳 丰台 石景山 顺义 昌平 通州 闵行 宝山 嘉定 ' +
  '松江 青浦 奉贤 崇明 金水 管城 二七 中原 惠济 雨花 江宁 栖霞 鼓浪屿 西湖 拱墅 余姚 慈溪 乐清 瑞安 义乌 东阳 ' +
  '老凤祥 老庙 六福 谢馥春 马记 张亮 杨铭宇 海底捞 西贝 喜茶 蜜雪冰城 沙县 兰州拉面 黄焖鸡 马克华菲 ' +
  '华尔街 汇丰 花旗 渣打 恒生 东亚 星展 大华 华侨永亨 高盛 摩根 贝莱德 施罗德 富达 宁波银行 江苏银行'
).split(' ');

/** Labels and role nouns that introduce a person's name (收件人杨磊, 申请人：吴刚). */
export const CN_NAME_PREFIX_CUES = [
  '姓名',
  '户名',
  '账户名',
  '账户名称',
  '开户名',
  '客户',
  '用户',
  '会员',
  '本人',
  '收件人',
  '收货人',
  '寄件人',
  '联系人',
  '申请人',
  '借款人',
  '贷款人',
  '共同借款人',
  '担保人',
  '保证人',
  '持卡人',
  '开户人',
  '投保人',
  '被保险人',
  '被保人',
  '受益人',
  '法定代表人',
  '法人代表',
  '负责人',
  '代理人',
  '委托人',
  '受托人',
  '经办人',
  '签名',
  '签字',
  '户主',
  '患者',
  '员工',
  '职工',
  '业主',
  '租户',
  '房东',
  '买方',
  '卖方',
  '出借人',
  '债务人',
  '债权人',
  '致',
  '尊敬的',
  '亲爱的',
  '客户经理',
  '理财经理',
  '推荐人',
  '介绍人',
  '监护人',
  '配偶',
  '姓名为',
  '名叫',
  '叫做',
  '署名',
  // Roles in a bank's notes, minutes and letters.
  '讲师',
  '主讲',
  '出纳',
  '财务',
  '会计',
  '秘书',
  '评审秘书',
  '主审',
  '复审',
  '审批',
  '委员',
  '专员',
  '柜员',
  '行长',
  '同事',
  '催收人员',
  '企业主',
  '实际控制人',
  '收款人',
  '付款人',
  '出席',
  '缺席',
  '参会',
  '参会人员',
  '与会人员',
  '出席人员',
  '签到',
  '值班',
  '主持',
  '记录',
  '记录人',
  '讲师',
  '家属',
  // Kinship words ("我弟弟霍建华", "其妻竺雪").
  '弟弟',
  '哥哥',
  '姐姐',
  '妹妹',
  '我弟',
  '我哥',
  '我姐',
  '我妹',
  '表哥',
  '表姐',
  '表弟',
  '表妹',
  '老公',
  '老婆',
  '丈夫',
  '妻子',
  '太太',
  '儿子',
  '女儿',
  '父亲',
  '母亲',
  '爸爸',
  '妈妈',
  '朋友',
  '其妻',
  '其夫',
  '我爸',
  '我妈',
  '我爷爷',
  '我奶奶',
  '我外婆',
  '我外公',
  '爷爷',
  '奶奶',
  '外婆',
  '外公',
  '岳父',
  '岳母',
  '公公',
  '婆婆',
  '同学',
  '舅舅',
  '姑姑',
  '叔叔',
  '阿姨',
  '侄子',
  '外甥',
  '孙子',
  '孙女',
  '户主',
  // Self-introductions and verbs whose object is a person.
  '我叫',
  '我是',
  '我係',
  '叫',
  '由',
  '向',
  '致',
  '给',
  '让',
  '联系',
  '请联系',
  '转给',
  '转到',
  '全名',
  '中文名',
  '名字叫',
];

/** What a name owns or does right after it (黄强的身份证, 赵敏（证件号, 李娜申请). */
export const CN_NAME_FOLLOW_CUES = [
  '的身份证',
  '的证件',
  '的手机',
  '的电话',
  '的银行卡',
  '的卡号',
  '的账户',
  '的账号',
  '的地址',
  '的邮箱',
  '的住址',
  '（身份证',
  '（证件',
  '(身份证',
  '(证件',
  '，身份证',
  '，证件号',
  '，手机',
  '，电话',
  '，男',
  '，女',
  '（男',
  '（女',
  '同意',
  '签署',
  '申请',
  '来电',
  '致电',
  '本人',
  '提供',
  '负责',
  '牵头',
  '表示',
  '建议',
  '反映',
  '收',
  '谨启',
  '谨上',
  '敬上',
  '敬启',
  '父子',
  '母子',
  '父女',
  '母女',
  '夫妇',
  '等',
  '（',
  '(',
  '的家属',
  '的卡',
  '的女儿',
  '的儿子',
  '的转账',
  '的授权',
];

/**
 * Characters that end a Chinese given name or cannot start one: particles, pronouns, common verbs and the
 * first characters of the nouns that usually follow a name (身份证, 电话, 卡号 ...).
 */
export const CN_GIVEN_NAME_STOP = new Set([
  ...'的了在是和与及或等说称向对将把被给为从已也都就才又再还请申办签来去到要会能可曾先女同老经总其这那此该每各您你我他她它们以因所而但则并且即便按据过于个位名号码证卡账户手机电话身份地址邮箱住年日时分岁男性别籍贯族省市区县镇乡村路街巷弄里楼层室院有无不没未需须应当必确认填写提交核查询开注销冻结解款借贷转汇付收存取支扣缴共计合额度期限率费用编订让帮跟问找陪带叫打某啊呀吧呢嘛哦喔啦吗',
]);

/** Common English given names (US Social Security Administration lists, both sexes). */
export const EN_GIVEN_NAMES = new Set(
  (
    'James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel Matthew Anthony Mark ' +
    'Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan Jacob ' +
    'Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Frank ' +
    'Patrick Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Douglas Zachary Peter Kyle Ethan Walter ' +
    'Noah Jeremy Christian Keith Roger Terry Gerald Harold Sean Austin Carl Arthur Lawrence Dylan Jesse Jordan ' +
    'Bryan Billy Joe Bruce Gabriel Logan Albert Willie Alan Juan Wayne Elijah Randy Roy Vincent Ralph Eugene ' +
    'Russell Bobby Mason Philip Louis Liam Oliver Lucas Aiden Carter Owen Luke Isaac Leo Hugo Oscar Max Tom Tim ' +
    'Mike Bob Jim Bill Steve Dave Chris Dan Ben Sam Alex Nick Tony Andy Rick Ian Neil Colin Martin Simon Graham ' +
    'Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Margaret Sandra ' +
    'Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah Stephanie Rebecca Sharon Laura ' +
    'Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma Nicole Helen Samantha Katherine Christine Debra ' +
    'Rachel Carolyn Janet Catherine Maria Heather Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren ' +
    'Christina Joan Evelyn Judith Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison ' +
    'Frances Kathryn Janice Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly ' +
    'Isabella Theresa Diana Natalie Brittany Charlotte Marie Kayla Alexis Lori Ava Mia Chloe Ella Lily Zoe Lucy ' +
    'Jane Kate Sophie Claire Anne Susan Paula Rose Eva Nora Leah Ellen Wendy Tina Vanessa Monica Erin Jenny ' +
    'Wei Li Ming Jing Hui Yan Lei Jun Hong Xin Yu Ying Fang Min Ling Tao Jie Ping Hua Chen Yang Qiang Na ' +
    'Mohammed Muhammad Ahmed Ali Omar Fatima Aisha Priya Raj Rahul Amit Anil Sunil Ravi Arjun Deepak Hiroshi ' +
    'Yuki Kenji Takashi Haruto Sakura Carlos Luis Miguel Jorge Pedro Diego Sofia Lucia Carmen Ana Elena Hans ' +
    'Klaus Stefan Pierre Jean Marc Francois Giulia Marco Luca Matteo Ivan Dmitri Olga Natasha Sven Lars Erik'
  ).split(' '),
);

/** Common English-language surnames (US Census 2010 top list and frequent others). */
export const EN_SURNAMES = new Set(
  (
    'Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson ' +
    'Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis ' +
    'Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera ' +
    'Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart ' +
    'Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim ' +
    'Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo ' +
    'Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler ' +
    'Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds ' +
    'Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford ' +
    'Castro Marshall Owens Harrison Fernandez Mcdonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman ' +
    'Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon ' +
    'Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice ' +
    'Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer ' +
    'Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson ' +
    'Carroll Lane Riley Andrews Ray Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis ' +
    'Carpenter Lawrence Sandoval Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Lin Luo ' +
    'Zheng Liang Xie Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Du Ye Cheng Wei ' +
    'Singh Kumar Sharma Khan Ahmed Tanaka Suzuki Sato Takahashi Watanabe Muller Schneider Fischer Weber Rossi ' +
    // Cantonese and other romanisations of Chinese surnames, and Vietnamese and Korean ones.
    'Chan Wong Leung Cheung Lau Ng Ho Tsang Lam Yip Kwok Tse Yeung Tam Siu Choi Kwan Poon Lo Chu Chow Yuen ' +
    'Chung Hui Mak Lai Law Fung Kong Tong Ip Tsui Chiu Cheng Chiang Hsu Tsai Hsieh Huang Kuo Lu Shih Chou ' +
    'Nguyen Tran Le Pham Hoang Phan Vu Dang Bui Do Ngo Duong Ly Park Choi Jung Kang Cho Yoon Jang Lim Han ' +
    'Russo Ferrari Dubois Bernard Moreau Laurent Petit Ivanov Smirnov Kowalski Nowak Jensen Nielsen Larsen'
  ).split(' '),
);

/**
 * Chinese surnames as romanised in Hong Kong, Macao, Taiwan, Singapore and Malaysia (Cantonese, Hokkien, Teochew,
 * Hakka and Wade-Giles forms), which pinyin does not give.
 */
export const EN_CHINESE_SURNAMES = (
  'Chan Chen Wong Leung Cheung Lau Ng Ho Tsang Lam Yip Kwok Tse Yeung Tam Siu Choi Kwan Poon Lo Chu Chow Yuen ' +
  'Chung Hui Mak Lai Law Fung Kong Tong Ip Tsui Chiu Cheng Chiang Hsu Tsai Hsieh Huang Kuo Lu Shih Chou Tan Lim ' +
  'Lee Teo Goh Ong Koh Chua Toh Yeo Seah Quek Heng Sim Wee Low Chia Foo Khoo Chin Liew Soh Yap Neo Poh Ang Tay ' +
  'Loh Tay Ting Yong Kee Pang Yeoh Cheah Chong Fong Leong Loke Mok Woo Wu Au Yau Yim Kam Sin Sze Tung Shum ' +
  'Chau Chiu Fok Hung Ko Kwong Lui Luk Lung Ma Mo Sung Tai Tsoi Wan Yu Yiu Hsiao Kao Lai Liao Chien Chuang Weng'
).split(' ');

export const EN_HONORIFICS = /(?:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Dame|Lord|Lady|Rev|Hon)\.?)$/;

/** Greetings and thanks before a name ("Hi Olivia", "Thanks Fiona"); a cue, never part of the name. */
export const EN_GREETINGS = new Set(
  'hi hello hey dear thanks thank cheers morning afternoon evening good welcome bye goodbye sorry congratulations'.split(
    ' ',
  ),
);

/** Words that make a run of capitalised words a place or a venue, not a person (Victoria Harbour, Hong Kong Island). */
export const EN_PLACE_WORDS = new Set(
  (
    'Harbour Harbor Peak Island Pier Promenade Wharf Mall Hotel Tower Towers Disneyland Terminal Plaza Building ' +
    'Bridge Gate Gardens Garden Shores Estate Mansion Mansions Centre Center Station Airport Kong Macau Macao ' +
    'Kowloon Territories District Italian Restaurant Cafe Café Bar Pub Club Cottage Farm Lodge Barn Manor Square ' +
    // Shops and services named after a person or a place ("Costa Coffee", "Hilton Garden Inn", "Lee's Bakery").
    'Coffee Kitchen Bakery Pizza Burger Burgers Grill Diner Deli Brewery Tea Inn Pharmacy Salon Studio Studios Gym ' +
    'Fitness Motors Cars Travel Tours Airlines Airways Foods Supermarket Stores Outlet Boutique Jewellers Jewelers ' +
    'Opticians Clinic Dental Cinema Theatre Theater Stadium Arena Museum Gallery Library Village Shopping'
  ).split(' '),
);

/**
 * Brands, firms and shops named after people, which a name list would take for persons. A product list, not a
 * corpus-tuned one: fashion and retail houses and the financial firms that bank texts name most.
 */
export const EN_BRANDS = new Set(
  (
    'Paul Smith|Ted Baker|Calvin Klein|Ralph Lauren|Tommy Hilfiger|Hugo Boss|Kate Spade|Michael Kors|Tory Burch|' +
    'Marc Jacobs|Jimmy Choo|Vera Wang|Louis Vuitton|Christian Dior|Christian Louboutin|Yves Saint Laurent|' +
    'Giorgio Armani|Emporio Armani|Estee Lauder|Charles Tyrwhitt|Ben Sherman|Jack Wills|Karl Lagerfeld|' +
    'Stella McCartney|Alexander McQueen|Vivienne Westwood|Victoria Beckham|Tom Ford|Kenneth Cole|Anne Klein|' +
    'Thomas Pink|John Lewis|Marks|Harvey Nichols|Dolce|Gabbana|Morgan Stanley|Goldman Sachs|Merrill Lynch|' +
    'Charles Schwab|Edward Jones|Wells Fargo|Dow Jones|Standard Chartered|Lloyds|Barclays|' +
    // Asset managers, brokers, advisers and auditors named after their founders.
    'Raymond James|T. Rowe Price|Rowe Price|Baillie Gifford|Lindsell Train|Aberdeen Standard|Janus Henderson|' +
    'Hargreaves Lansdown|Brewin Dolphin|Franklin Templeton|Neuberger Berman|Cantor Fitzgerald|Piper Sandler|' +
    'William Blair|Dodge Cox|Tweedy Browne|Smith Barney|Dean Witter|Bear Stearns|Lehman Brothers|' +
    'Salomon Brothers|Kidder Peabody|Grant Thornton|Ernst Young|Price Waterhouse|Arthur Andersen|Knight Frank|' +
    'Cushman Wakefield|Jones Lang|Keefe Bruyette|Morgan Grenfell|Charles Stanley|Close Brothers|Coutts|' +
    'Harry Winston|Patek Philippe|Audemars Piguet|Vacheron Constantin|Jo Malone|Bobbi Brown|Laura Ashley|' +
    'Fred Perry|Ann Taylor|Steve Madden|Stuart Weitzman|Eddie Bauer|Levi Strauss|Elizabeth Arden|Max Mara|' +
    'Salvatore Ferragamo|Ermenegildo Zegna|Roberto Cavalli|Helena Rubinstein|Jack Wolfskin|Papa John|' +
    'Victoria Secret|Ben Jerry|Pret A Manger|Dr Martens|Tommy Bahama|' +
    'Gordon Ramsay|Tim Hortons|Ben Jerry|Mary Kay|Martha Stewart|Jack Daniels|Johnnie Walker|Walt Disney|' +
    'Ronald McDonald|Lane Crawford|Harvey Norman|Ruth Chris|' +
    // Fund houses whose product names lead with the house's ("Fidelity Contrafund").
    'Fidelity|Vanguard|BlackRock|Invesco|Schroders|Jupiter|Artemis|Pimco|Amundi|Nomura|Templeton'
  ).split('|'),
);

/** Holidays and days named like people ("Memorial Day", "Boxing Day", "Good Friday"): read as a place or brand. */
export const EN_HOLIDAYS = new Set(
  (
    'Memorial Day|Labor Day|Labour Day|Boxing Day|Christmas Day|Christmas Eve|New Year|Thanksgiving|' +
    'Independence Day|Veterans Day|Presidents Day|Columbus Day|Easter Monday|Good Friday|Canada Day|Anzac Day|' +
    'Australia Day|Victoria Day|Remembrance Day|Armistice Day|Bank Holiday|Martin Luther King Day|Juneteenth|' +
    'Mothers Day|Fathers Day|Valentines Day|Lunar New Year|Chinese New Year|Halloween|Whit Monday|Ascension Day'
  ).split('|'),
);

/** Words before a name that say a person follows ("Customer John Smith", "send it to Jane Doe"). */
export const EN_NAME_PREFIX_CUES = new Set(
  (
    'customer client applicant co-applicant borrower co-borrower guarantor cardholder holder account-holder ' +
    'beneficiary insured policyholder recipient payee payer sender employee patient tenant landlord director ' +
    'officer manager agent representative contact attention attn dear to from by for with named name signed ' +
    'witness spouse partner member user investor trustee grantor debtor creditor mr mrs ms dr prof ' +
    'daughter son wife husband mother father brother sister colleague friend payee director attendee attendees ' +
    'present cc ' +
    // Roles that label a name in notes and sign-offs, and relatives a caller names.
    'reviewer verifier analyst approver preparer assessor checker caller interviewer cousin nephew niece uncle aunt ' +
    'grandad grandpa grandma grandfather grandmother grandson granddaughter'
  ).split(' '),
);

/** Capitalised words that are never part of a personal name in running text. */
export const EN_NOT_NAME_WORDS = new Set(
  (
    'The A An This That These Those My Your Our Their His Her Its Please Dear Customer Client Applicant Borrower ' +
    'Account Bank Card Credit Debit Street St Road Rd Avenue Ave Lane Ln Drive Dr Boulevard Blvd Court Ct Terrace ' +
    'Place Pl Way Parkway Circle Highway Hwy Suite Apt Apartment Unit Floor Building City County State Province ' +
    'Republic Kingdom United States America China Chinese English American British Europe European Union ' +
    'Inc Ltd LLC Corp Corporation Company Co Group Holdings Bank Fund Trust Capital Partners Securities Insurance ' +
    // Words of firms' names ("Fidelity International", "Jupiter Asset Management"): never in a person's name.
    'International Investments Investment Management Asset Assets Financial Advisors Advisers Associates ' +
    'Brothers Foundation Equities Ventures Lending LLP PLC Plc GmbH ' +
    'University College School Hospital Department Ministry Agency Authority Commission Office Board Council ' +
    'Court Act Article Section Regulation Law Rule Directive Code Chapter Part Paragraph Schedule Annex ' +
    'January February March April May June July August September October November December Monday Tuesday ' +
    'Wednesday Thursday Friday Saturday Sunday ID Number Phone Email Address Mobile Tel Fax Statement Report ' +
    'Loan Mortgage Policy Claim Invoice Order Contract Agreement Terms Conditions Notice Form Application Yes No ' +
    'First Last Middle Full Dial Met Spoke Called Emailed Visited Asked Told Phoned Rang Saw We You They He She It Okay Ok Yes Yeah Yep Sure Well So Right Alright Oh Team Line Home All Everyone There Here Is Are Was Were Do Does Did Can Could ' +
    'Would Should Shall Might Must Has Have Had Services Service Support Resolution Operations Compliance Risk ' +
    'Finance Sales Marketing Retail Private Wealth Treasury Legal Human Resources Manager Officer Senior Junior ' +
    'Relationship Head Chief Executive Assistant Analyst Associate Team Desk Centre Hub Unit Division Branch ' +
    'North South East West New Old Saint San Santa Los Las Fort Mount Lake River Park Square Center Centre ' +
    'Market Main Station Airport Port Bay Beach Hill Valley Springs Heights Gardens Village Town Country ' +
    'Pay Wallet Top Auto Plus Pro Premium Gold Platinum Visa Mastercard Express Union App Online Mobile Banking'
  ).split(' '),
);

/** Chinese province-level divisions (full and short forms), where Chinese addresses usually start. */
export const CN_PROVINCES = (
  '北京市 天津市 上海市 重庆市 河北省 山西省 辽宁省 吉林省 黑龙江省 江苏省 浙江省 安徽省 福建省 江西省 山东省 ' +
  '河南省 湖北省 湖南省 广东省 海南省 四川省 贵州省 云南省 陕西省 甘肃省 青海省 台湾省 内蒙古自治区 ' +
  '广西壮族自治区 西藏自治区 宁夏回族自治区 新疆维吾尔自治区 香港特别行政区 澳门特别行政区 ' +
  '北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 ' +
  '四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门'
).split(' ');

/** Words that introduce an address (地址：, 住址, 家住, 寄至 ...). */
export const CN_ADDRESS_CUES = [
  '地址',
  '住址',
  '住所',
  '居住地',
  '户籍地',
  '家住',
  '住在',
  '位于',
  '寄至',
  '寄到',
  '送至',
  '送到',
  '收货地址',
  '通讯地址',
  '联系地址',
  '注册地',
  '办公地点',
  '营业场所',
];

/** English street-type words (USPS Publication 28 primary suffixes and the UK's common ones). */
export const EN_STREET_SUFFIXES =
  'Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Terrace|Ter|Place|Pl|Way|Parkway|Pkwy|' +
  'Circle|Cir|Highway|Hwy|Square|Sq|Trail|Trl|Alley|Crescent|Close|Row|Walk|Grove|Gardens|Mews|Plaza|Loop|Path|Pike|Run|' +
  'Parade|Rise|Hill|Vale|View|Green|Quay|Wharf|Esplanade|Promenade|Embankment|Broadway|Link|Gate|Wynd|Brae';

/** US state and territory postal abbreviations. */
export const US_STATES =
  'AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|' +
  'OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP';

/** US states written out, as an address may end ("Cupertino, California 95014"); with a ZIP only. */
export const US_STATE_NAMES =
  'Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|' +
  'Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|' +
  'Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|' +
  'North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|' +
  'Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming';
