# nbgrader for an instructor on the course hub: the course is ~/course (a copy of autograder/
# made at the first start); release and collect go through the exchange.
import os

c = get_config()  # noqa: F821 - provided by nbgrader
c.CourseDirectory.course_id = "medai-edu"
c.CourseDirectory.root = os.path.join(os.environ["HOME"], "course")
c.Exchange.root = os.environ["MEDAI_HUB_EXCHANGE"]  # set by the hub's spawner
