"""The demo city's service-item catalog and what each item can be done through.

The catalog is modelled on the items the seed reports name (社保卡, 医保, 公积金,
不动产, 户籍, 出入境, 税务, 市场主体登记, 交通违法, 养老认证, 就业创业, "一件事"
bundles ...).  It is data, not logic: :mod:`geosvc.demo` turns it into
``layers/demo/items.csv`` and applies the written-down channel rules to it.

Besides the :class:`~geosvc.model.ServiceItem` fields, every entry says

``lowest_level``
    the lowest hall level that handles the item at a staffed window
    (``city`` < ``county`` < ``township`` < ``village``): a hall of level L
    handles every item whose ``lowest_level`` is L or below it in that order;
``self_service``
    doable at a government self-service machine (自助一体机); which machine
    (a general 政务服务一体机, a 社保 terminal with a card printer, ...) is
    the demo's rule, :mod:`geosvc.demo._rules`;
``smart_teller``
    a bank-adjacent service on a bank's own smart teller machine (智慧柜员机):
    社保卡 loss report and release, 社保 and 公积金 records, the 医保 e-voucher
    (the payments below go there too);
``bank_window``
    handled at a staffed government window inside a bank outlet (政银通办
    人工窗口; the seeds quote 30 such items);
``payment``
    a payment (premiums, fines, fund payments) that a smart teller takes;
``locker``
    a printed certificate or a pickup that needs a certificate printer or
    pickup cabinet (证照打印 / 寄递领取).
"""

from __future__ import annotations

from dataclasses import dataclass

from geosvc.model import Category, Level, Scope, ServiceItem

__all__ = ["CATALOG", "CatalogItem", "catalog_items"]

_P = Category.PERSON
_B = Category.BUSINESS
_CITY = Scope.CITY
_COUNTY = Scope.COUNTY
_XP = Scope.CROSS_PROVINCE

_DEPT = {
    "RS": "市人力资源和社会保障局",
    "YB": "市医疗保障局",
    "GJJ": "市住房公积金管理中心",
    "BDC": "市自然资源和规划局（不动产登记中心）",
    "ZJ": "市住房和城乡建设局",
    "GA": "市公安局（户政）",
    "CRJ": "市公安局出入境管理支队",
    "JJ": "市公安局交通警察支队",
    "SW": "国家税务总局市税务局",
    "SC": "市市场监督管理局",
    "MZ": "市民政局",
    "WJ": "市卫生健康委员会",
    "JY": "市教育局",
    "CL": "市残疾人联合会",
    "TY": "市退役军人事务局",
    "YJS": "市政务服务和数据资源管理局",
}


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One catalog entry: a service item plus the channels it can go through."""

    item: ServiceItem
    lowest_level: Level
    self_service: bool = False
    smart_teller: bool = False
    bank_window: bool = False
    payment: bool = False
    locker: bool = False


def _i(
    code: str,
    name: str,
    name_en: str,
    category: Category,
    scope: Scope,
    lowest: str,
    flags: str = "",
    *,
    hf: bool = False,
    description: str = "",
) -> CatalogItem:
    """Build a catalog entry.

    ``flags`` letters: s self-service, t smart teller, b bank window,
    p payment machine, l locker.
    """
    dept = _DEPT[code.split("-")[0]]
    return CatalogItem(
        item=ServiceItem(
            code=code,
            name=name,
            name_en=name_en,
            department=dept,
            category=category,
            high_frequency=hf,
            scope=scope,
            description=description,
        ),
        lowest_level=Level(lowest),
        self_service="s" in flags,
        smart_teller="t" in flags,
        bank_window="b" in flags,
        payment="p" in flags,
        locker="l" in flags,
    )


#: The demo catalog, sorted by code.
CATALOG: tuple[CatalogItem, ...] = tuple(sorted((
    # 人力资源和社会保障 -------------------------------------------------------
    _i("RS-01", "社会保障卡申领", "Social security card application",
       _P, _XP, "township", "s", hf=True),
    _i("RS-02", "社会保障卡补换", "Social security card replacement",
       _P, _XP, "township", "s"),
    _i("RS-03", "社会保障卡挂失与解挂", "Social security card loss report and release",
       _P, _XP, "village", "stb", hf=True),
    _i("RS-04", "个人社保权益记录查询打印", "Printing of personal social insurance records",
       _P, _CITY, "village", "stb", hf=True),
    _i("RS-05", "城乡居民养老保险参保登记", "Urban and rural resident pension enrolment",
       _P, _CITY, "village", "b"),
    _i("RS-06", "养老保险待遇资格认证", "Pension eligibility authentication (养老认证)",
       _P, _XP, "village", "sb", hf=True),
    _i("RS-07", "灵活就业人员参保登记",
       "Social insurance enrolment of flexibly employed persons",
       _P, _CITY, "township", "sb"),
    _i("RS-08", "失业保险金申领", "Unemployment benefit claim",
       _P, _CITY, "township", "sb", hf=True),
    _i("RS-09", "就业登记", "Employment registration", _P, _CITY, "township", "s"),
    _i("RS-10", "就业失业登记证明打印",
       "Printing of employment and unemployment registration certificates",
       _P, _CITY, "township", "s"),
    _i("RS-11", "创业担保贷款申请", "Start-up guaranteed loan application (就业创业)",
       _P, _CITY, "county", "b"),
    _i("RS-12", "职业技能等级证书查询", "Vocational skill certificate lookup",
       _P, _CITY, "county", "s"),
    _i("RS-13", "养老保险关系转移接续", "Transfer of pension insurance relations",
       _P, _XP, "county", "s"),
    _i("RS-14", "单位参保登记", "Employer social insurance registration",
       _B, _CITY, "county", "s"),
    _i("RS-15", "工伤认定申请", "Work injury recognition", _P, _COUNTY, "county"),
    # 医疗保障 ---------------------------------------------------------------
    _i("YB-01", "城乡居民医保参保登记", "Resident medical insurance enrolment",
       _P, _CITY, "village", "sb", hf=True),
    _i("YB-02", "城乡居民医保缴费", "Resident medical insurance payment",
       _P, _CITY, "village", "sbp", hf=True),
    _i("YB-03", "异地就医备案",
       "Registration for medical treatment in another province (医保异地)",
       _P, _XP, "township", "sb", hf=True),
    _i("YB-04", "医保关系转移接续", "Transfer of medical insurance relations",
       _P, _XP, "county", "s"),
    _i("YB-05", "医保电子凭证激活", "Activation of the medical insurance e-voucher",
       _P, _CITY, "village", "st"),
    _i("YB-06", "门诊慢特病待遇认定", "Recognition of chronic and special outpatient diseases",
       _P, _COUNTY, "county"),
    _i("YB-07", "医疗费用手工报销", "Manual reimbursement of medical expenses",
       _P, _CITY, "county", "b"),
    _i("YB-08", "医保参保缴费凭证打印", "Printing of medical insurance payment certificates",
       _P, _CITY, "township", "sb"),
    _i("YB-09", "生育保险待遇申领", "Maternity insurance benefit claim",
       _P, _CITY, "county", "s"),
    # 住房公积金 -------------------------------------------------------------
    _i("GJJ-01", "住房公积金缴存证明打印", "Housing provident fund deposit certificate",
       _P, _CITY, "township", "stb", hf=True),
    _i("GJJ-02", "住房公积金提取（租房）", "Housing provident fund withdrawal for rent",
       _P, _CITY, "county", "sb"),
    _i("GJJ-03", "住房公积金提取（购房）",
       "Housing provident fund withdrawal for a home purchase",
       _P, _CITY, "county", "b"),
    _i("GJJ-04", "住房公积金贷款申请", "Housing provident fund loan application",
       _P, _CITY, "city", "b"),
    _i("GJJ-05", "住房公积金异地转移接续",
       "Transfer of the housing provident fund to another province",
       _P, _XP, "county", "s"),
    _i("GJJ-06", "单位住房公积金缴存登记", "Employer housing provident fund registration",
       _B, _CITY, "county"),
    _i("GJJ-07", "住房公积金个人账户查询", "Housing provident fund account inquiry",
       _P, _CITY, "village", "stbp"),
    # 不动产与住建 -----------------------------------------------------------
    _i("BDC-01", "不动产登记信息查询", "Real-estate registration information query",
       _P, _CITY, "county", "sb"),
    _i("BDC-02", "不动产抵押权登记", "Real-estate mortgage registration",
       _P, _CITY, "county", "b"),
    _i("BDC-03", "不动产转移登记（二手房）",
       "Real-estate transfer registration (second-hand housing)",
       _P, _COUNTY, "county", hf=True),
    _i("BDC-04", "不动产首次登记", "First real-estate registration", _B, _COUNTY, "county"),
    _i("BDC-05", "不动产抵押权注销登记", "Cancellation of a real-estate mortgage",
       _P, _CITY, "county", "b"),
    _i("BDC-06", "不动产权证书自助打印", "Self-service printing of real-estate certificates",
       _P, _CITY, "county", "sl"),
    _i("ZJ-01", "二手房网签合同备案", "Filing of second-hand housing online contracts",
       _P, _CITY, "county", "s"),
    _i("ZJ-02", "房屋专项维修资金缴存", "Payment of the housing maintenance fund",
       _P, _CITY, "county", "sbp"),
    # 户籍（属地办理） -------------------------------------------------------
    _i("GA-01", "户口迁移", "Household registration transfer (户籍)",
       _P, _COUNTY, "township", hf=True),
    _i("GA-02", "出生登记（户口）", "Household registration of a newborn",
       _P, _COUNTY, "township"),
    _i("GA-03", "居民身份证申领换领", "Resident ID card application and renewal",
       _P, _XP, "county", hf=True),
    _i("GA-04", "临时居民身份证申领", "Temporary resident ID card", _P, _COUNTY, "county"),
    _i("GA-05", "居住证签注", "Residence permit endorsement", _P, _COUNTY, "township", "s"),
    _i("GA-06", "户籍证明开具", "Household registration certificate",
       _P, _COUNTY, "village", "s"),
    _i("GA-07", "无犯罪记录证明", "Certificate of no criminal record",
       _P, _CITY, "county", "s"),
    # 出入境 ---------------------------------------------------------------
    _i("CRJ-01", "普通护照签发", "Passport issuance (出入境)", _P, _XP, "city", hf=True),
    _i("CRJ-02", "往来港澳通行证签注", "Hong Kong and Macao travel permit endorsement",
       _P, _XP, "city", "s"),
    _i("CRJ-03", "往来台湾通行证签注", "Taiwan travel permit endorsement",
       _P, _XP, "city", "s"),
    _i("CRJ-04", "出入境记录查询", "Entry and exit record inquiry", _P, _CITY, "city", "s"),
    # 交通管理 -------------------------------------------------------------
    _i("JJ-01", "交通违法处理", "Handling of traffic violations",
       _P, _CITY, "county", "sb", hf=True),
    _i("JJ-02", "交通违法罚款缴纳", "Payment of traffic fines",
       _P, _CITY, "township", "sbp", hf=True),
    _i("JJ-03", "驾驶证期满换证", "Driving licence renewal", _P, _XP, "county", "s"),
    _i("JJ-04", "驾驶证补证", "Driving licence replacement", _P, _XP, "county", "sl"),
    _i("JJ-05", "机动车检验标志核发", "Vehicle inspection mark issuance",
       _P, _CITY, "county", "sl"),
    _i("JJ-06", "机动车注册登记", "Motor vehicle registration", _P, _COUNTY, "county"),
    # 税务 -----------------------------------------------------------------
    _i("SW-01", "个人所得税纳税记录开具", "Individual income tax record",
       _P, _CITY, "township", "sb", hf=True),
    _i("SW-02", "完税证明开具", "Tax payment certificate", _P, _CITY, "county", "sb"),
    _i("SW-03", "代开增值税发票", "Issuance of VAT invoices on behalf of taxpayers",
       _B, _CITY, "county", "s"),
    _i("SW-04", "个体工商户定期定额申报", "Fixed-quota tax filing of individual businesses",
       _B, _CITY, "county", "s"),
    _i("SW-05", "税务登记", "Tax registration", _B, _COUNTY, "county"),
    _i("SW-06", "城乡居民社会保险费缴纳", "Payment of resident social insurance contributions",
       _P, _CITY, "village", "sbp"),
    _i("SW-07", "车辆购置税申报", "Vehicle purchase tax declaration", _P, _CITY, "county"),
    # 市场主体登记 ---------------------------------------------------------
    _i("SC-01", "个体工商户设立登记", "Registration of an individual business",
       _B, _COUNTY, "township", "s", hf=True),
    _i("SC-02", "企业设立登记", "Company establishment registration (市场主体登记)",
       _B, _CITY, "county", "sb", hf=True),
    _i("SC-03", "企业变更登记", "Company change registration", _B, _CITY, "county", "b"),
    _i("SC-04", "企业注销登记", "Company deregistration", _B, _CITY, "county"),
    _i("SC-05", "营业执照自助打印", "Self-service business licence printing",
       _B, _CITY, "county", "sl"),
    _i("SC-06", "食品经营许可", "Food business licence", _B, _COUNTY, "county"),
    _i("SC-07", "企业年度报告公示", "Company annual report", _B, _CITY, "county", "s"),
    # 民政 -----------------------------------------------------------------
    _i("MZ-01", "结婚登记", "Marriage registration", _P, _COUNTY, "county"),
    _i("MZ-02", "离婚登记", "Divorce registration", _P, _COUNTY, "county"),
    _i("MZ-03", "婚姻登记记录证明", "Marriage registration record certificate",
       _P, _CITY, "county", "s"),
    _i("MZ-04", "最低生活保障申请", "Minimum living allowance application",
       _P, _COUNTY, "village"),
    _i("MZ-05", "高龄津贴申领", "Old-age allowance claim", _P, _CITY, "village", "b"),
    _i("MZ-06", "惠民殡葬补贴申领", "Funeral subsidy claim", _P, _CITY, "township"),
    # 卫生健康 -------------------------------------------------------------
    _i("WJ-01", "出生医学证明办理", "Medical birth certificate", _P, _CITY, "county"),
    _i("WJ-02", "生育登记", "Birth registration (family planning)",
       _P, _CITY, "village", "s", hf=True),
    _i("WJ-03", "独生子女父母奖励申领", "Reward for parents of only children",
       _P, _COUNTY, "village"),
    _i("WJ-04", "护士执业注册", "Nurse practice registration (我要从事护士工作)",
       _P, _CITY, "city"),
    # 教育 -----------------------------------------------------------------
    _i("JY-01", "学籍证明开具", "Student status certificate", _P, _CITY, "county", "s"),
    _i("JY-02", "教师资格认定", "Teacher qualification", _P, _CITY, "city"),
    _i("JY-03", "普通话水平测试报名", "Registration for the Putonghua proficiency test",
       _P, _CITY, "city", "s"),
    # 残联 / 退役军人 -------------------------------------------------------
    _i("CL-01", "残疾人证申领", "Disability certificate application", _P, _COUNTY, "township"),
    _i("CL-02", "残疾人两项补贴申领", "Two disability subsidies claim", _P, _CITY, "village"),
    _i("TY-01", "退役军人优待证申领", "Veterans' preferential treatment card",
       _P, _CITY, "township", "s"),
    # "一件事" bundles and certificate pickup ------------------------------
    _i("YJS-01", "出生一件事", "One-stop bundle: a child is born",
       _P, _CITY, "county", hf=True,
       description="出生医学证明、户口登记、医保参保、社保卡申领一次办"),
    _i("YJS-02", "开办餐馆一件事", "One-stop bundle: open a restaurant",
       _B, _CITY, "county",
       description="营业执照、食品经营许可、税务登记等一次办"),
    _i("YJS-03", "开办旅馆一件事", "One-stop bundle: open a hotel",
       _B, _CITY, "county",
       description="营业执照、特种行业许可、消防检查等一次办"),
    _i("YJS-04", "小学新生入学一件事", "One-stop bundle: primary school enrolment",
       _P, _COUNTY, "county",
       description="共享片区、户籍、房产、疫苗接种数据，入学报名材料零提交"),
    _i("YJS-05", "不动产登记一件事", "One-stop bundle: real-estate transfer with utilities",
       _P, _COUNTY, "county",
       description="不动产转移登记与水电气过户一次办"),
    _i("YJS-06", "企业开办一件事", "One-stop bundle: start a business",
       _B, _CITY, "county", "b", hf=True,
       description="企业设立登记、公章刻制、税务登记、社保登记一日办结"),
    _i("YJS-07", "退休一件事", "One-stop bundle: retirement", _P, _CITY, "county"),
    _i("YJS-08", "身后一件事", "One-stop bundle: after a death", _P, _CITY, "township"),
    _i("YJS-09", "政务证照寄递自助领取", "Self-service pickup of licences and certificates",
       _P, _CITY, "county", "sl"),
), key=lambda c: c.item.code))


def catalog_items() -> list[ServiceItem]:
    """Return the catalog's service items, sorted by code.

    Examples
    --------
    >>> items = catalog_items()
    >>> len(items) >= 60
    True
    >>> items[0].code, items[0].department
    ('BDC-01', '市自然资源和规划局（不动产登记中心）')
    """
    return [c.item for c in CATALOG]


#: 一件事 bundles of the demo: a life event as the items handled together
#: ``(code, name, name_en, item codes, description)``; modelled on the seeds'
#: "one thing" packages (birth, opening a restaurant, primary-school entry).
BUNDLES: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    ("B-CS", "新生儿出生一件事", "Newborn: one thing",
     ("WJ-01", "GA-02", "YB-01", "RS-01"),
     "出生医学证明、户口登记、医保参保、社保卡申领一次办"),
    ("B-CY", "开办餐馆一件事", "Opening a restaurant: one thing",
     ("SC-01", "SC-06", "SW-05"),
     "个体工商户登记、食品经营许可、税务登记一次办"),
    ("B-RX", "小学新生入学一件事", "Primary-school entry: one thing",
     ("GA-06", "GA-05", "BDC-01"),
     "户籍证明、居住证签注、不动产登记信息查询一次办"),
)
